"""Content images for training: an image folder (recursive) or frames sampled evenly from a video.

Batches are a pure function of (seed, step): the image order is a seeded permutation per epoch and the
crop offsets are seeded per step, so a resumed run sees exactly the batches the killed run would have.
Following pytorch/examples, each image is resized so its short side is the crop size, then cropped
(randomly here, along the long side).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rtstyle.engine.base import MAX_FRAME_PIXELS
from rtstyle.engine.memory import HEADROOM, available_memory_bytes
from rtstyle.errors import RtstyleError
from rtstyle.io.images import VIDEO_SUFFIXES, is_image_path, read_image, read_layout, try_read_image
from rtstyle.wording import file_size

# Enough distinct frames to cover a clip without holding a whole film in memory.
MAX_VIDEO_FRAMES = 1000
# Resized photos are kept in memory up to this many bytes, so later epochs decode nothing (a GPU step is faster
# than decoding its batch of JPEGs); train256 (1,088 photos) takes about 0.3 GB.
CACHE_BYTES = 2 * 2**30


def resize_short_side(image: np.ndarray, size: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_size = (max(size, round(width * scale)), max(size, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, new_size, interpolation=interpolation)


@dataclass(frozen=True)
class CropBox:
    """Where a training crop was cut: image `index` (as resized for training), top-left corner, side."""

    index: int
    top: int
    left: int
    size: int

    def cut(self, image: np.ndarray) -> np.ndarray:
        return image[self.top:self.top + self.size, self.left:self.left + self.size]


class ContentSource:
    """Random crops of `crop_size` from a folder of images or a video; unreadable files are skipped."""

    def __init__(self, path: Path, crop_size: int, seed: int, max_video_frames: int = MAX_VIDEO_FRAMES) -> None:
        self.path = Path(path)
        self.crop_size = crop_size
        self.seed = seed
        self.skipped: set[Path] = set()
        self._checked: set[int] = set()  # indices of the images decoded at least once (readable or not)
        self._frames: list[np.ndarray] | None = None
        self._first_frame = np.zeros((0, 0, 3), np.uint8)  # a video's first frame at its own size, for previews
        self._paths: list[Path] = []
        self._cache: dict[int, np.ndarray] = {}
        self._cached_bytes = 0
        self._order_epoch, self._order = -1, np.arange(0)
        if not self.path.exists():
            raise RtstyleError(f"content not found: {self.path}")
        if self.path.is_dir():
            self._paths = sorted(p for p in self.path.rglob("*") if p.is_file() and is_image_path(p))
            if not self._paths:
                raise RtstyleError(f"no images in the content folder {self.path}")
            self._first_readable()  # fail now, not at step 1000, when nothing can be read
        elif self.path.suffix.lower() in VIDEO_SUFFIXES:
            self._frames, self._first_frame = read_video_frames(self.path, crop_size, max_video_frames)
        else:
            raise RtstyleError(f"content must be a folder of images or a video file ({', '.join(sorted(VIDEO_SUFFIXES))}): "
                               f"{self.path}")

    def __len__(self) -> int:
        return len(self._frames) if self._frames is not None else len(self._paths)

    @property
    def files(self) -> list[Path]:
        """The files the content is read from: the folder's images, or the video."""
        return list(self._paths) if self._frames is None else [self.path]

    @property
    def kind(self) -> str:
        return "video frames" if self._frames is not None else "images"

    def describe(self) -> str:
        """How many images the run learns from: only readable ones count as images (the rest are skipped files,
        known unreadable once tried; until every file was tried, the count is of files)."""
        if self._frames is not None:
            return f"{len(self)} video frames"
        unreadable = len(self.skipped)
        if len(self._checked) == len(self):
            return f"{len(self) - unreadable} images" + (f"; {unreadable} unreadable files skipped" if unreadable else "")
        return f"{len(self)} image files" + (f", {unreadable} found unreadable" if unreadable else "")

    def _first_readable(self) -> None:
        for index in range(len(self._paths)):
            if self._load(index) is not None:
                return
        raise RtstyleError(f"none of the {len(self._paths)} images in {self.path} could be read")

    def _load(self, index: int) -> np.ndarray | None:
        """uint8 BGR with short side == crop size, or None (and counted) when unreadable."""
        if self._frames is not None:
            return self._frames[index]
        if index in self._cache:
            return self._cache[index]
        path = self._paths[index]
        if path in self.skipped:
            return None
        self._checked.add(index)
        image = try_read_image(path)
        if image is None:
            self.skipped.add(path)
            return None
        image = resize_short_side(image, self.crop_size)
        if self._cached_bytes + image.nbytes <= CACHE_BYTES:
            self._cache[index] = image
            self._cached_bytes += image.nbytes
        return image

    def image_indices(self, step: int, batch_size: int) -> list[int]:
        """Which images batch `step` (0-based) uses: a seeded permutation per epoch, in order."""
        n = len(self)
        out = []
        for k in range(step * batch_size, (step + 1) * batch_size):
            epoch, position = divmod(k, n)
            out.append(int(self._epoch_order(epoch)[position]))
        return out

    def _epoch_order(self, epoch: int) -> np.ndarray:
        if self._order_epoch != epoch:
            self._order = np.random.default_rng([self.seed, epoch]).permutation(len(self))
            self._order_epoch = epoch
        return self._order

    def batch(self, step: int, batch_size: int) -> np.ndarray:
        """uint8 (N, crop, crop, 3) RGB for training step `step`."""
        return self.batch_and_boxes(step, batch_size)[0]

    def batch_and_boxes(self, step: int, batch_size: int) -> tuple[np.ndarray, list[CropBox]]:
        """The batch of step `step` and where each crop was cut from (see `image_rgb`)."""
        rng = np.random.default_rng([self.seed, 1_000_003, step])
        crops, boxes = [], []
        for index in self.image_indices(step, batch_size):
            index, image = self._readable(index)
            box = self._random_box(index, image, rng)
            crops.append(box.cut(image))
            boxes.append(box)
        return np.stack(crops)[..., ::-1].copy(), boxes  # BGR -> RGB

    def image_rgb(self, index: int) -> np.ndarray:
        """The whole image `index` as the crops see it (short side = crop size), RGB."""
        return self._readable(index)[1][..., ::-1].copy()

    def _readable(self, index: int) -> tuple[int, np.ndarray]:
        """Image `index`, or the next readable one when it cannot be read."""
        for attempt in range(len(self)):
            candidate = (index + attempt) % len(self)
            image = self._load(candidate)
            if image is not None:
                return candidate, image
        raise RtstyleError(f"none of the content images in {self.path} could be read")

    def _random_box(self, index: int, image: np.ndarray, rng: np.random.Generator) -> CropBox:
        size = self.crop_size
        height, width = image.shape[:2]
        top = int(rng.integers(0, height - size + 1))
        left = int(rng.integers(0, width - size + 1))
        return CropBox(index, top, left, size)

    def preview_image(self, side: int) -> np.ndarray:
        """A fixed centre crop (RGB), `side` px square, of the first readable image, for preview strips.

        Read again at `side` rather than cut from the training copy: 96 px training crops make a preview too
        small to judge, and a photo to stylize is larger than a crop anyway."""
        for index in range(len(self)):
            image = self._preview_source(index)
            if image is not None:
                image = resize_short_side(image, side)
                height, width = image.shape[:2]
                top, left = (height - side) // 2, (width - side) // 2
                return image[top:top + side, left:left + side, ::-1].copy()
        raise RtstyleError(f"none of the content images in {self.path} could be read")

    def _preview_source(self, index: int) -> np.ndarray | None:
        if self._frames is not None:
            return self._first_frame if index == 0 else self._frames[index]
        return try_read_image(self._paths[index]) if self._load(index) is not None else None


def read_video_frames(path: Path, crop_size: int, max_frames: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Up to `max_frames` frames sampled evenly across the video, resized (short side = crop size), BGR; and
    the first of them at the video's own size (for previews)."""
    import av

    from rtstyle.io.deinterlace import progressive
    from rtstyle.io.frames import StreamFrames
    from rtstyle.io.video_probe import frames_past_damage, open_input

    try:
        with open_input(path) as container:  # says why one cannot be read, as `rtstyle video` does
            stream = container.streams.video[0]
            total = stream.frames or 0
            if total <= 0 and stream.duration and stream.time_base and stream.average_rate:
                total = int(stream.duration * stream.time_base * stream.average_rate)
            # Decode sequentially and keep every k-th frame: robust where seeking is not.
            every = max(1, -(-total // max_frames)) if total > 0 else 1
            frames: list[np.ndarray] = []
            stream_frames = StreamFrames()  # HDR10's peak read once for the video
            first: np.ndarray = np.zeros((0, 0, 3), np.uint8)
            # A damaged packet costs its frames; interlaced frames are made whole (combing would be learnt as texture).
            for i, frame in enumerate(progressive(frames_past_damage(container, stream), stream)):
                if i % every == 0:
                    # upright, as shown: a portrait phone video is stored sideways, and styles learn from photos
                    image = stream_frames.upright(frame)
                    first = image if not frames else first
                    frames.append(resize_short_side(image, crop_size))
                    if len(frames) >= max_frames:
                        break
    except RtstyleError:
        raise
    except (av.error.FFmpegError, OSError) as exc:
        raise RtstyleError(f"cannot read video {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not frames:
        raise RtstyleError(f"no frames could be decoded from {path}")
    return frames, first


MIN_LOSS_IMAGE_SIDE = 16  # VGG16 pools three times before relu4_3: smaller images vanish in it


# The longest side a painting is scaled to: rtstyle's frame limit (--style-size 100000 was OpenCV's allocation traceback).
MAX_STYLE_SIDE = math.isqrt(MAX_FRAME_PIXELS)
# Peak memory growth of VGG16's style features on the CPU, per painting pixel: 779 B/px measured at 2560x2560 (the
# Caffe VGG16 file, 2 threads; 800-850 at 512-1536 px); trainer.py's note of 19.5 GB at 6000x6000 is 540 B/px.
STYLE_TARGET_BYTES_PER_PIXEL = 780


def read_style_image(path: Path, style_size: int | None) -> np.ndarray:
    """The style image as uint8 RGB, its longest side scaled to `style_size` when given; transparent parts are
    white, as a viewer shows them (the colours stored under them, often black, are no part of the painting)."""
    if style_size is not None and style_size > MAX_STYLE_SIDE:
        raise RtstyleError(f"--style-size {style_size} is larger than rtstyle reads a painting at "
                           f"({MAX_STYLE_SIDE} px at most; Johnson's recipe uses 256)")
    image = read_image(Path(path), "style image")
    alpha = read_layout(Path(path), shown=image).alpha
    if alpha is not None and alpha.min() < 255:
        opacity = alpha[..., None].astype(np.float32) / 255
        image = (image * opacity + 255 * (1 - opacity)).round().astype(np.uint8)
    if style_size:
        scale = style_size / max(image.shape[:2])
        image = cv2.resize(image, None, fx=scale, fy=scale,
                           interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if min(image.shape[:2]) < MIN_LOSS_IMAGE_SIDE:
        raise RtstyleError(f"the style image {path} is {image.shape[1]}x{image.shape[0]} px: VGG16 needs at least "
                           f"{MIN_LOSS_IMAGE_SIDE} px on each side (three poolings before relu4_3)")
    return image[..., ::-1].copy()


def refuse_painting_past_memory(shape: tuple[int, ...], available: int | None = None) -> None:
    """A painting (of this HxW) whose style targets need more memory than the CPU has: refused, with the --style-size
    that fits (--style-size 8192 ran VGG16 on 67 Mpx until the OS killed the run)."""
    if (available := available or available_memory_bytes()) is None:
        return
    height, width = shape[:2]
    need = height * width * STYLE_TARGET_BYTES_PER_PIXEL
    budget = available * HEADROOM
    if need > budget:
        fits = int(max(height, width) * math.sqrt(budget / need))
        raise RtstyleError(f"the style image at {width}x{height} px needs about {file_size(int(need))} for its style "
                           f"targets, more than the {file_size(int(available))} available: --style-size {fits} or less "
                           "(Johnson's recipe uses 256)")
