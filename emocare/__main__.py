from emocare._entry import main

main()
