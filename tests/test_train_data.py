"""Content data: folders (recursive) and videos, deterministic crops, unreadable files skipped and counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from train_utils import make_content_folder  # noqa: E402

from rtstyle.errors import RtstyleError
from rtstyle.train.data import ContentSource, read_style_image

REPO = Path(__file__).resolve().parent.parent


def test_folder_is_searched_recursively_and_batches_are_seeded(tmp_path: Path) -> None:
    folder = make_content_folder(tmp_path / "photos", count=6)
    source = ContentSource(folder, crop_size=32, seed=7)
    assert len(source) == 6  # three of them are in a sub-folder
    batch = source.batch(5, 4)
    assert batch.shape == (4, 32, 32, 3) and batch.dtype == np.uint8
    assert np.array_equal(batch, ContentSource(folder, 32, seed=7).batch(5, 4))
    assert not np.array_equal(batch, ContentSource(folder, 32, seed=8).batch(5, 4))


def test_each_epoch_visits_every_image_once(tmp_path: Path) -> None:
    source = ContentSource(make_content_folder(tmp_path / "photos", count=6), crop_size=32, seed=1)
    first_epoch = source.image_indices(0, 3) + source.image_indices(1, 3)
    assert sorted(first_epoch) == list(range(6))


def test_unreadable_files_are_skipped_and_counted(tmp_path: Path) -> None:
    folder = make_content_folder(tmp_path / "photos", count=2)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    source = ContentSource(folder, crop_size=32, seed=0)
    for step in range(4):
        assert source.batch(step, 3).shape == (3, 32, 32, 3)
    assert source.skipped == {folder / "broken.jpg"}


def test_photos_are_decoded_once_then_served_from_memory(tmp_path: Path) -> None:
    folder = make_content_folder(tmp_path / "photos", count=3)
    source = ContentSource(folder, crop_size=32, seed=0)
    first = source.batch(0, 3)
    for photo in folder.rglob("img*"):
        photo.unlink()  # a second epoch must not need the files any more
    assert source.batch(1, 3).shape == (3, 32, 32, 3)
    assert np.array_equal(source.batch(0, 3), first)
    assert not source.skipped


def test_video_frames_are_sampled_across_the_clip() -> None:
    source = ContentSource(REPO / "rtstyle" / "assets" / "cutBunny.mp4", crop_size=32, seed=0, max_video_frames=12)
    assert len(source) == 12 and source.kind == "video frames"
    frames = [source._load(i) for i in range(12)]
    assert all(f.shape[0] == 32 for f in frames)  # short side resized to the crop size
    assert not np.array_equal(frames[0], frames[-1])  # start and end of the clip differ
    assert source.batch(0, 2).shape == (2, 32, 32, 3)


def test_previews_are_read_at_their_own_size_not_cut_from_the_small_crops(tmp_path: Path) -> None:
    import cv2

    folder = make_content_folder(tmp_path / "photos", count=2, size=96)
    source = ContentSource(folder, crop_size=32, seed=0)
    preview = source.preview_image(80)
    assert preview.shape == (80, 80, 3)
    upscaled_crop = cv2.resize(source.preview_image(32), (80, 80))
    assert np.abs(preview.astype(int) - upscaled_crop).mean() > 2  # sharper than the 32 px copy blown up

    video = ContentSource(REPO / "rtstyle" / "assets" / "cutBunny.mp4", crop_size=32, seed=0, max_video_frames=4)
    frame = video.preview_image(120)
    assert frame.shape == (120, 120, 3)
    assert np.abs(frame.astype(int) - cv2.resize(video.preview_image(32), (120, 120))).mean() > 2


def test_transparent_parts_of_a_painting_are_white_not_the_colours_hidden_under_them(tmp_path: Path) -> None:
    import cv2

    painting = np.zeros((32, 32, 4), np.uint8)  # black everywhere, as exporters store transparent pixels
    painting[:, :16] = (0, 0, 255, 255)  # left half: opaque red (BGRA)
    painting[:, 16:, 3] = 0  # right half: fully transparent
    cv2.imwrite(str(tmp_path / "cutout.png"), painting)
    image = read_style_image(tmp_path / "cutout.png", None)  # RGB
    assert (image[:, :16] == (255, 0, 0)).all() and (image[:, 16:] == 255).all()


def test_style_size_scales_the_longest_side(tmp_path: Path) -> None:
    image = read_style_image(REPO / "tests" / "data" / "chelsea.png", 100)
    assert max(image.shape[:2]) == 100
    with pytest.raises(RtstyleError, match="not found"):
        read_style_image(tmp_path / "none.png", None)


def test_a_rotated_phone_video_is_read_upright(tmp_path) -> None:
    # A portrait video is stored sideways with a rotation tag; its frames were learnt from (and previewed) sideways.
    from rtstyle.train.data import read_video_frames
    from videoclips import make_clip

    video = make_clip(tmp_path / "portrait.mp4", width=64, height=48, frames=3, rotation=90)
    frames, first = read_video_frames(video, crop_size=32, max_frames=3)
    assert first.shape == (64, 48, 3) and frames[0].shape == (43, 32, 3)  # short side 32, long side upright


def test_a_video_with_a_damaged_packet_is_still_content(tmp_path) -> None:
    # One bad packet refused the whole video ("cannot read video ...: Invalid data found when processing input").
    from rtstyle.train.data import read_video_frames
    from videoclips import damage_packets, make_clip

    video = damage_packets(make_clip(tmp_path / "in.mp4", frames=12, gop=4), [5])
    frames, _ = read_video_frames(video, crop_size=32, max_frames=12)
    assert len(frames) == 11
    video = damage_packets(make_clip(tmp_path / "first.mp4", frames=12, gop=4), [0])  # its first keyframe
    frames, _ = read_video_frames(video, crop_size=32, max_frames=12)
    assert len(frames) == 8


def test_a_transport_stream_or_phone_3gp_is_video_content(tmp_path) -> None:
    # A camcorder's .mts or a .ts recording was refused: 'content must be a folder of images or a video file'.
    from videoclips import make_clip

    for name in ("clip.ts", "clip.mts", "clip.3gp"):
        path = tmp_path / name
        path.write_bytes(make_clip(tmp_path / "in.ts", frames=6).read_bytes())
        source = ContentSource(path, crop_size=32, seed=0, max_video_frames=6)
        assert source.kind == "video frames" and len(source) == 6
