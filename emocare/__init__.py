"""emocare: a real-time facial-emotion care companion.

Importing this package is cheap on purpose: nothing heavy (cv2, TensorFlow,
deepface, fer) is imported here, so ``emocare --help`` answers at once.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("emocare")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
