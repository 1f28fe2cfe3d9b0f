"""Write N photos of 1000x667 made from the test photos (flipped, shifted, re-toned): a big folder for analyze --jobs."""

import sys
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SOURCES = ["pyfeat_multi_face.jpg", "pyfeat_single_face.jpg", "deepface_img12.jpg", "derived_couple_small.jpg",
           "pyfeat_free-mountain-vector-01.jpg"]


def main(out: Path, n: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = [cv2.imread(str(DATA / name)) for name in SOURCES]
    for i in range(n):
        img = images[i % len(images)]
        img = cv2.resize(img, (1000, 667), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            img = cv2.flip(img, 1)
        img = cv2.convertScaleAbs(img, alpha=float(rng.uniform(0.8, 1.2)), beta=float(rng.uniform(-20, 20)))
        cv2.imwrite(str(out / f"photo-{i:04d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"{n} photos in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
