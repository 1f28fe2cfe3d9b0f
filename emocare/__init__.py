"""emocare: a real-time facial-emotion care companion.

Importing this package is cheap on purpose: nothing heavy (cv2, TensorFlow,
deepface, fer) is imported here, so ``emocare --help`` answers at once; even
``importlib.metadata`` waits until ``__version__`` is asked for, so that the
console script reaches its Ctrl-C handler (``_entry.main``) as early as it can.
"""


def __getattr__(name: str):
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("emocare")
        except PackageNotFoundError:  # running from a checkout that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'emocare' has no attribute {name!r}")
