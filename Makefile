# emocare: `make install` then `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
OPENCV := opencv-python==4.14.0.94
FER    := fer==25.10.3

.PHONY: install test test-fast readme-check docs-figures photos-1000 system-deps sounds clean

install:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip 'setuptools<81' wheel
	# the product plus every extra (deepface, fer's imports, plot, lab) and the tests' packages
	$(PIP) install -e '.[all,test]'
	# fer without facenet-pytorch (a multi-GB CUDA torch, only for its optional MTCNN)
	# and without moviepy (only its Video class uses it); its real imports are all installed above.
	$(PIP) install --no-deps $(FER)
	# deepface pulls opencv-contrib-python-headless, which overwrites the same cv2 folder
	# with a build that has no window: remove every OpenCV wheel, then put back exactly one GUI build.
	$(PIP) uninstall -y -q opencv-contrib-python-headless opencv-python-headless opencv-contrib-python opencv-python
	$(PIP) install -q --no-deps --force-reinstall $(OPENCV)
	$(BIN)/python -c "import cv2, os; assert cv2.__version__.startswith('4.'), cv2.__version__; assert os.path.isfile(cv2.data.haarcascades + 'haarcascade_frontalface_default.xml'); print('OpenCV', cv2.__version__, 'with Haar cascades')"
	@echo "installed: $(BIN)/emocare"

# System packages the full test suite uses (a virtual screen, screenshots, a CJK font,
# offline speech and audio tools, a headless browser for serve's pages). Debian/Ubuntu, as root.
system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		xvfb x11-utils xdotool imagemagick fonts-wqy-microhei fonts-dejavu-core fontconfig espeak-ng sox time libgl1 libglib2.0-0 chromium chromium-driver >/dev/null

test:
	$(BIN)/python -m pytest -q

# The unit tests only (no process per test, window, browser or training): a quick check while working.
test-fast:
	$(BIN)/python -m pytest -q -m "not slow"

# Every command in the README, run as written (outputs in out/); CI runs it after the tests.
readme-check:
	$(BIN)/python tools/readme_check.py

# The figures in docs/ (overwrites the tracked PNGs: commit them with the numbers they show).
docs-figures:
	DEEPFACE_HOME=out/df-random $(BIN)/emocare models build-random
	DEEPFACE_HOME=out/df-random $(BIN)/emocare bench --plot docs/bench-speed.png
	$(BIN)/emocare bench --engines fer,emocare-fer,emocare --dataset ../shared/data/fer2013/val --crops --no-speed --plot docs/bench-accuracy.png

# 1,000 photos (1000x667, 1-5 faces) made from the test photos, for the analyze --jobs figure.
photos-1000:
	$(BIN)/python tools/make_photos.py out/photos-1000 1000

sounds:
	$(BIN)/python sounds/generate.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache out
