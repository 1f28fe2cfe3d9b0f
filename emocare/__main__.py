from emocare.cli import main

main()
