"""emocare's lab: training the emotion model, the benchmarks, calibration, datasets and FER+ votes.

Nothing the product runs (``analyze``, ``watch``, ``report``, ``serve``, ``say``, ``models``, ``config``, the
Python API) imports this package. ``emocare train`` and ``emocare bench`` do, after checking that the ``lab``
extra is installed (``pip install 'emocare[lab]'``: TensorFlow, Keras, matplotlib); without it they say so in
one line (exit 4). ``tests/test_layout.py`` checks that no product module imports it.
"""
