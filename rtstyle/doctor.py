"""What rtstyle can use on this machine, and what to do about what it cannot: `rtstyle doctor`.

Each check looks at one thing (the inference engines, the GPU, the video encoders, the window, the extras, the
styles, the training weights) the way the commands that need it will, and says in one line what it found; a thing
missing or broken comes with the command or step that fixes it. Nothing here loads a style's weights or a model.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from rtstyle import __version__
from rtstyle.errors import RtstyleError

OK, MISSING, PROBLEM = "ok", "missing", "problem"  # missing: optional, not installed; problem: installed, not working


@dataclass(frozen=True)
class Finding:
    topic: str
    status: str  # OK, MISSING or PROBLEM
    detail: str
    fix: str | None = None  # what to run or do, for MISSING and PROBLEM

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def header() -> str:
    return f"rtstyle {__version__}, Python {platform.python_version()}, {platform.platform()}"


def machine() -> Finding:
    import psutil

    from rtstyle.engine.bench import cpu_name  # not machine_info: it imports torch, whose own check is below

    memory = psutil.virtual_memory()
    return Finding("machine", OK, f"{cpu_name()}, {os.cpu_count()} cores, {memory.total / 2**30:.1f} GiB "
                                  f"memory ({memory.available / 2**30:.1f} free)")


def inference() -> Finding:
    """onnxruntime's providers, what --device auto picks, and whether a listed GPU provider actually loads."""
    import onnxruntime

    from rtstyle.engine.factory import nvidia_gpu_present
    from rtstyle.engine.providers import (CPU, CPU_ENGINE_INSTALL, GPU_ENGINE_INSTALL, GPU_PROVIDERS,
                                          available_providers, plan_providers)

    listed = available_providers()
    plan = plan_providers("auto", available=listed)
    names = ", ".join(p.replace("ExecutionProvider", "") for p in listed)
    detail = f"onnxruntime {onnxruntime.__version__} ({names})"
    if plan.device == "cuda":
        active = _providers_that_load([name for name, _ in plan.providers])
        if not any(p in active for p in GPU_PROVIDERS) and not nvidia_gpu_present():  # not its CUDA libraries
            return Finding("inference", PROBLEM, f"{detail}: lists {plan.primary}, but there is no NVIDIA driver here "
                           "(no nvidia-smi), so --device auto runs on the CPU",
                           f"install the NVIDIA driver; or, without an NVIDIA GPU: {CPU_ENGINE_INSTALL}")
        if not any(p in active for p in GPU_PROVIDERS):
            return Finding("inference", PROBLEM, f"{detail}: lists {plan.primary} but cannot load it (CUDA or cuDNN "
                           "libraries missing or not matching onnxruntime-gpu), so --device auto runs on the CPU",
                           "install the CUDA and cuDNN versions onnxruntime-gpu was built for: https://onnxruntime.ai/"
                           "docs/execution-providers/CUDA-ExecutionProvider.html#requirements")
        return Finding("inference", OK, f"{detail}: --device auto runs on {active[0].replace('ExecutionProvider', '')}")
    if nvidia_gpu_present():  # a GPU the engine cannot use: the one change that makes everything faster
        return Finding("inference", MISSING, f"{detail}: an NVIDIA GPU is here, but onnxruntime has no CUDA provider, "
                       "so --device auto runs on the CPU",
                       GPU_ENGINE_INSTALL)
    assert plan.primary == CPU
    return Finding("inference", OK, f"{detail}: --device auto runs on the CPU (no NVIDIA GPU found); the webcam uses "
                                    "the styles' fast variants")


def provider_probe() -> bytes:
    """A one-node model to open a session with. Of an IR every supported onnxruntime reads: with the onnx package's
    own (newer) IR, an older onnxruntime-gpu refused the model, and the check blamed the CUDA libraries."""
    from onnx import TensorProto, helper

    from rtstyle.export.onnx_graph import IR_VERSION

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "doctor",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = IR_VERSION
    return model.SerializeToString()


def _providers_that_load(providers: list[str]) -> list[str]:
    """The providers a session really gets: onnxruntime falls back to the CPU when a GPU provider's libraries fail
    to load, and only logs it."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # its own error lines about missing libraries are what this check reports
    try:
        with warnings.catch_warnings():  # "not in available provider names": what this check finds out and says
            warnings.simplefilter("ignore")
            session = onnxruntime.InferenceSession(provider_probe(), options, providers=providers)
    except Exception:  # noqa: BLE001 - a provider that cannot even be asked for: none of them loads
        return []
    return list(session.get_providers())


def torch_backend() -> Finding:
    """The `train` extra: training, --backend torch, eval --photos; and whether torch sees a GPU."""
    if importlib.util.find_spec("torch") is None:
        return Finding("torch", MISSING, "not installed: training, --backend torch and eval --photos need it",
                       'pip install "rtstyle[train]"')
    import torch

    if torch.cuda.is_available():  # pragma: no cover - needs a GPU
        return Finding("torch", OK, f"torch {torch.__version__}, CUDA {torch.version.cuda}: trains on "
                                    f"{torch.cuda.get_device_name(0)}")
    note = "CPU only (a torch built without CUDA)" if torch.version.cuda is None else "CPU only (no GPU it can use)"
    return Finding("torch", OK, f"torch {torch.__version__}, {note}: training takes seconds a step, see "
                                "`rtstyle train --help`")


# What each encoder is needed for (rtstyle.io.formats).
ENCODERS = {"libx264": ".mp4/.mkv/.mov video", "aac": "AAC audio where PCM cannot be copied",
            "libvpx-vp9": ".webm video", "libopus": ".webm audio", "gif": ".gif", "libwebp_anim": ".webp"}


def video() -> Finding:
    import av

    missing = []
    for name, use in ENCODERS.items():
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - PyAV raises its own and ValueError for an unknown encoder
            missing.append(f"{name} ({use})")
    detail = f"PyAV {av.__version__}, FFmpeg {getattr(av, 'ffmpeg_version_info', '?')}"
    if missing:
        return Finding("video", PROBLEM, f"{detail}: no encoder for {', '.join(missing)}",
                       "install the PyAV wheel from PyPI (pip install --force-reinstall av), which bundles them")
    return Finding("video", OK, f"{detail}: H.264, AAC, VP9, Opus, GIF and WebP encoders")


def window() -> Finding:
    """The webcam's window: OpenCV's GUI backend and a display to open it on."""
    import cv2

    from rtstyle.realtime.display import check_display_available

    gui = next((line.split(":", 1)[1].strip() for line in cv2.getBuildInformation().splitlines()
                if line.strip().startswith("GUI:")), "NONE")
    detail = f"OpenCV {cv2.__version__}, GUI {gui}"
    if gui.upper() == "NONE":  # opencv-python-headless: windows cannot open at all
        return Finding("window", PROBLEM, f"{detail}: this OpenCV build opens no windows (the headless package)",
                       "pip uninstall -y opencv-python-headless && pip install --force-reinstall opencv-python")
    try:
        check_display_available()
    except RtstyleError:
        return Finding("window", MISSING, f"{detail}: no display here ($DISPLAY is not set): rtstyle webcam needs "
                       "--no-display", "run it in a desktop session, or over `ssh -X`")
    return Finding("window", OK, f"{detail}, a display to open it on")


def virtual_camera() -> Finding:
    from rtstyle.realtime.virtual_camera import INSTALL, LINUX_SETUP

    if importlib.util.find_spec("pyvirtualcam") is None:
        return Finding("virtual camera", MISSING, "pyvirtualcam is not installed: webcam --virtual-camera needs it",
                       INSTALL)
    if not sys.platform.startswith("linux"):
        return Finding("virtual camera", OK, "pyvirtualcam installed: --virtual-camera sends to OBS's virtual "
                                             "camera (start it once from OBS Studio)")
    loopbacks = sorted(Path("/sys/devices/virtual/video4linux").glob("video*"))
    if not loopbacks:
        return Finding("virtual camera", MISSING, "pyvirtualcam installed, but no v4l2loopback device",
                       f"{LINUX_SETUP} (Debian/Ubuntu: sudo apt install v4l2loopback-dkms first)")
    names = ", ".join(f"/dev/{p.name}" + _label(p) for p in loopbacks)
    return Finding("virtual camera", OK, f"pyvirtualcam installed; v4l2loopback: {names}")


def _label(device: Path) -> str:
    try:
        label = (device / "name").read_text().strip()
    except OSError:
        return ""
    return f' ("{label}")' if label else ""


def heic() -> Finding:
    from rtstyle.io.heif import heif_reader_installed

    if heif_reader_installed():
        return Finding("HEIC photos", OK, "pillow-heif installed: rtstyle image reads HEIC/HEIF")
    return Finding("HEIC photos", MISSING, "pillow-heif is not installed: HEIC/HEIF photos (an iPhone's) are named "
                                           "and skipped", 'pip install "rtstyle[heic]"')


def styles() -> Finding:
    from rtstyle.paths import user_styles_dir
    from rtstyle.styles.catalog import builtin_names, list_styles

    entries = list_styles()
    unusable = []
    for entry in entries:
        try:
            entry.metadata()
        except RtstyleError:
            unusable.append(entry.name)
    shipped = builtin_names()
    fast = sum(name.endswith("-fast") for name in shipped)
    yours = [e.name for e in entries if e.source == "user"]
    replacing = sum(name in shipped for name in yours)
    replaced = f" ({replacing} replacing a built-in of the same name)" if replacing else ""
    detail = f"{len(shipped) - fast} built-in (and {fast} fast variants), {len(yours)} of yours{replaced} in " \
             f"{user_styles_dir()}"
    if unusable:
        return Finding("styles", PROBLEM, f"{detail}; unusable: {', '.join(unusable)}",
                       f"`rtstyle styles show {unusable[0]}` says why; train them again, or "
                       f"`rtstyle styles remove {' '.join(unusable)}`")
    if not shipped:
        return Finding("styles", PROBLEM, f"{detail}: the built-in styles are missing from the install",
                       "pip install --force-reinstall rtstyle (or pip install -e . from a checkout)")
    return Finding("styles", OK, detail)


# torchvision's VGG16 ImageNet weights as torch.hub caches them (VGG16_Weights.IMAGENET1K_V1).
TORCHVISION_VGG16 = "vgg16-397923af.pth"


def training_weights() -> Finding:
    """The loss network's weights, as rtstyle.train.vgg.load_loss_network looks for them (without loading)."""
    from rtstyle.paths import VGG_WEIGHTS_ENV

    given = os.environ.get(VGG_WEIGHTS_ENV)
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            return Finding("VGG16 weights", PROBLEM, f"${VGG_WEIGHTS_ENV} is {given}, which is not a file",
                           f"point ${VGG_WEIGHTS_ENV} at the safetensors file, or unset it")
        return Finding("VGG16 weights", OK, f"${VGG_WEIGHTS_ENV}: {path}")
    cached = _torch_hub_dir() / "checkpoints" / TORCHVISION_VGG16
    if cached.is_file():
        return Finding("VGG16 weights", OK, f"torchvision's, cached: {cached}")
    return Finding("VGG16 weights", MISSING, "training downloads torchvision's VGG16 (528 MB) on first use",
                   f"offline: give a safetensors file with --vgg-weights or ${VGG_WEIGHTS_ENV}")


def _torch_hub_dir() -> Path:
    """torch.hub.get_dir() without importing torch: $TORCH_HOME/hub, else $XDG_CACHE_HOME/torch/hub."""
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                         os.path.expanduser("~/.cache"), "torch")
    return Path(home).expanduser() / "hub"


def cameras() -> Finding:
    from rtstyle.realtime.capture import list_cameras

    found = list_cameras()
    if not found:
        return Finding("cameras", MISSING, "no camera delivers frames (indices 0-9)",
                       "plug one in, close apps using it, or read a file or stream with webcam --source")
    return Finding("cameras", OK, "; ".join(f"{i}: {w}x{h} ({backend})" for i, w, h, backend in found))


# Each check with the topic it reports on, for a check that fails itself (rtstyle.doctor.checked).
CHECKS: tuple[tuple[str, Callable[[], Finding]], ...] = (
    ("machine", machine), ("inference", inference), ("torch", torch_backend), ("video", video), ("window", window),
    ("virtual camera", virtual_camera), ("HEIC photos", heic), ("styles", styles), ("VGG16 weights", training_weights))


def run_checks(with_cameras: bool = False) -> list[Finding]:
    return [checked(topic, check) for topic, check in (*CHECKS, *((("cameras", cameras),) if with_cameras else ()))]


def checked(topic: str, check: Callable[[], Finding]) -> Finding:
    """A check's finding; one that fails (a library that cannot even be imported: torch without its CUDA libraries)
    is that topic's problem, and the other checks still run: a broken install is what the doctor is for."""
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - said as the finding, in one line
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return Finding(topic, PROBLEM, f"its check failed: {reason}",
                       "reinstall the package it names (pip install --force-reinstall NAME)")
