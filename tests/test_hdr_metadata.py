"""A PQ (HDR10) video's highlights roll off to its own peak, read from its HDR10 metadata (MaxCLL, else the
mastering display's maximum luminance, else 1000 cd/m2 as before): a 4000 cd/m2 master is no longer clipped at
1000. The clips are HEVC written by x265 with that metadata (its SEI messages), as cameras and graders write it."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from videoclips import write_hdr_clip
from rtstyle.errors import RtstyleError
from rtstyle.io import frames as frames_module
from rtstyle.io import hdr
from rtstyle.io.frames import StreamFrames, frame_to_bgr
from rtstyle.io.hdr_metadata import SourcePeak, frame_peak
from rtstyle.io.video_probe import probe_video
from rtstyle.metrics.clips import iter_clip
from rtstyle.realtime.convert import ConvertOptions, convert_video
from rtstyle.realtime.resume import record_path

MASTERED_AT_4000 = "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(40000000,50)"
PATCH_NITS = [1000, 2000, 3000, 4000]  # one 16x16 patch each, then a patch at HDR reference white


def pq_code(nits: float) -> int:
    """SMPTE ST 2084's inverse EOTF, as a 16-bit code."""
    y = (nits / 10000) ** 0.1593017578125
    return round(((0.8359375 + 18.8515625 * y) / (1 + 18.6875 * y)) ** 78.84375 * 65535)


def highlights() -> np.ndarray:
    """Grey patches at PATCH_NITS and at 203 cd/m2, as 16-bit PQ RGB (BT.2020 grey is grey in any primaries)."""
    codes = [pq_code(n) for n in PATCH_NITS + [203]]
    return np.repeat(np.repeat(np.array(codes, np.uint16), 16)[None, :, None], 3, axis=2).repeat(16, axis=0)


def make_pq_hevc(path: Path, metadata: str | None, frames: int = 2, codec: str = "libx265") -> Path:
    """10-bit HEVC tagged BT.2020 PQ, every frame the highlights() patches; `metadata`: x265's max-cll and
    master-display settings (None: a clip without HDR10 metadata). `codec` libx264: H.264, its SEI (x264's cll and
    mastering-display) on keyframes only, which FFmpeg's H.264 decoder gives to those frames only."""
    if codec == "libx264":
        x264 = (metadata or "").replace("max-cll=", "cll=").replace("master-display=", "mastering-display=")
        options = {"crf": "4", "x264-params": x264}
    else:
        params = "log-level=error" + (f":hdr10=1:{metadata}" if metadata else "")
        options = {"crf": "4", "preset": "ultrafast", "x265-params": params}
    return write_hdr_clip(path, highlights(), hdr.PQ, frames=frames, codec=codec, options=options)


def first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as container:
        return next(container.decode(video=0))


def patch_levels(image: np.ndarray) -> list[int]:
    """The green level at each patch's centre (PATCH_NITS, then reference white)."""
    return [int(image[8, 16 * k + 8, 1]) for k in range(len(PATCH_NITS) + 1)]


@pytest.mark.parametrize("metadata, peak", [
    (f"max-cll=4000,400:{MASTERED_AT_4000}", SourcePeak(4000, "its MaxCLL")),
    (f"max-cll=1500,300:{MASTERED_AT_4000}", SourcePeak(1500, "its MaxCLL")),  # the content, not the monitor
    (f"max-cll=0,0:{MASTERED_AT_4000}", SourcePeak(4000, "its mastering display's peak")),  # 0: unknown
    (f"max-cll=65535,400:{MASTERED_AT_4000}", SourcePeak(4000, "its mastering display's peak")),  # over PQ's 10000
    ("max-cll=100,50:" + MASTERED_AT_4000.replace("40000000", "1000000"), SourcePeak()),  # 100: no highlight
    (None, SourcePeak()),
])
def test_the_peak_is_read_from_the_streams_hdr10_metadata(tmp_path, metadata, peak):
    clip = make_pq_hevc(tmp_path / "pq.mkv", metadata, frames=1)
    assert frame_peak(first_frame(clip)) == peak
    assert probe_video(clip).peak == peak  # what `rtstyle video` maps every frame with


def test_a_4000_nit_masters_highlights_are_kept_apart_with_its_metadata(tmp_path):
    mastered = frame_to_bgr(first_frame(make_pq_hevc(tmp_path / "4000.mkv", f"max-cll=4000,400:{MASTERED_AT_4000}")))
    levels = patch_levels(mastered)
    assert levels[0] < levels[-2] == 255  # 1000 cd/m2 below the 4000 cd/m2 peak, which reaches white
    assert levels == sorted(levels[:-1]) + [levels[-1]]  # brighter stays brighter
    # Without metadata, as before: everything from 1000 cd/m2 up is one white, the highlights' detail lost.
    plain_frame = first_frame(make_pq_hevc(tmp_path / "plain.mkv", None))
    plain = frame_to_bgr(plain_frame)
    assert patch_levels(plain)[:-1] == [255] * 4
    assert np.array_equal(plain, hdr.tone_map(plain_frame.to_ndarray(format="rgb48le"), hdr.PQ))  # at 1000 cd/m2
    # Reference white is SDR's 244 either way (below the knee the picture is the same; above it, rolled off).
    assert abs(levels[-1] - patch_levels(plain)[-1]) <= 1


def test_the_peak_is_read_once_per_stream(tmp_path, monkeypatch):
    clip = make_pq_hevc(tmp_path / "pq.mkv", f"max-cll=4000,400:{MASTERED_AT_4000}", frames=3)
    reads: list[float] = []
    real = frames_module.frame_peak
    monkeypatch.setattr(frames_module, "frame_peak", lambda frame: reads.append(1) or real(frame))
    stream = StreamFrames()
    with av.open(str(clip)) as container:
        images = [stream.bgr(frame) for frame in container.decode(video=0)]
    assert len(images) == 3 and len(reads) == 1 and stream.peak_nits == 4000
    assert patch_levels(images[-1])[0] < 255  # every frame mapped with the stream's peak
    assert [patch_levels(image)[0] for image in iter_clip(clip)] == [patch_levels(images[0])[0]] * 3  # `rtstyle eval`


def test_one_peak_for_the_stream_where_only_keyframes_carry_the_metadata(tmp_path):
    clip = make_pq_hevc(tmp_path / "h264.mkv", f"max-cll=4000,400:{MASTERED_AT_4000}", frames=4, codec="libx264")
    with av.open(str(clip)) as container:
        decoded = list(container.decode(video=0))
    assert [frame_peak(frame).nits for frame in decoded] == [4000, 1000, 1000, 1000]  # the SEI on the keyframe
    stream = StreamFrames()
    assert [patch_levels(stream.bgr(frame))[0] for frame in decoded] == [254] * 4  # one look, the stream's peak
    # read from each frame instead, the frames after the keyframe would be mapped to 1000 cd/m2: a flicker
    assert [patch_levels(frame_to_bgr(frame))[0] for frame in decoded] == [254, 255, 255, 255]


def identity(frame: np.ndarray) -> np.ndarray:
    return frame


class StopAfter:
    """The network's stand-in (frames unchanged, the first kept), stopped as Ctrl-C stops a run after `calls`."""

    def __init__(self, calls: int) -> None:
        self.calls = calls
        self.given: list[np.ndarray] = []

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        self.given = self.given or [frame.copy()]
        return frame


RECORD = {"style": "test", "style_file": "0123", "strength": 1.0, "keep_colors": False, "stabilize": None,
          "precision": "fp32"}


def test_a_conversion_says_the_peak_and_a_part_mapped_to_another_is_not_mixed_in(tmp_path):
    src = make_pq_hevc(tmp_path / "film.mkv", f"max-cll=4000,400:{MASTERED_AT_4000}", frames=24)
    out = tmp_path / "out.mp4"
    log: list[str] = []
    network = StopAfter(8)
    with pytest.raises(KeyboardInterrupt):
        convert_video(ConvertOptions(src, out, record=RECORD), network, log=log.append, progress=False)
    assert patch_levels(network.given[0])[0] < 255  # the network was given the frames mapped to 4000 cd/m2
    assert any("is HDR video (PQ (HDR10), 10-bit)" in line and
               "its highlights roll off up to 4000 cd/m2 (its MaxCLL)" in line for line in log), log
    partial = tmp_path / "out.partial.mp4"
    record = json.loads(record_path(partial).read_text())
    assert record["tone_map"] == f"{hdr.TONE_MAP}, PQ peak 4000 cd/m2"

    # A part made by an earlier rtstyle, which mapped every PQ video to 1000 cd/m2, is refused, not mixed in.
    record["tone_map"] = "BT.2408 white, knee 0.8, BT.1886"
    record_path(partial).write_text(json.dumps(record))
    with pytest.raises(RtstyleError) as refused:
        convert_video(ConvertOptions(src, out, record=RECORD), identity, log=log.append, progress=False)
    assert "HDR to SDR tone mapping" in str(refused.value) and "--restart" in str(refused.value)


def test_parts_made_at_1000_nits_keep_their_record():
    # HLG, and PQ without metadata, are mapped as before: an earlier rtstyle's part still matches and is continued.
    assert hdr.tone_map_setting(hdr.HLG) == hdr.tone_map_setting(hdr.PQ, 1000) == "BT.2408 white, knee 0.8, BT.1886"
    assert hdr.tone_map_setting(hdr.HLG, 4000) == hdr.TONE_MAP  # HLG's curve does not take a peak


def test_rtstyle_video_maps_every_frame_with_the_streams_peak(tmp_path):
    # H.264's SEI is on the keyframe only: every frame is mapped to the 4000 cd/m2 the conversion says and records.
    src = make_pq_hevc(tmp_path / "h264.mkv", f"max-cll=4000,400:{MASTERED_AT_4000}", frames=6, codec="libx264")
    given: list[int] = []

    def network(image: np.ndarray) -> np.ndarray:
        given.append(patch_levels(image)[0])
        return image

    convert_video(ConvertOptions(src, tmp_path / "out.mp4"), network, log=lambda _: None, progress=False)
    assert given == [254] * 6
