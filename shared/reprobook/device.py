"""Device selection shared by every notebook: ``device="auto"`` means CUDA when present, else CPU."""
import torch

from .errors import ReprobookError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a notebook's ``device`` parameter into a ``torch.device`` that exists on this machine."""
    name = str(name).strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ReprobookError("device 'mps' was asked for, but this machine has no Apple MPS backend; use --device auto or cpu")
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ReprobookError(f"device {name!r} was asked for, but torch sees no CUDA device here; use --device auto or cpu")
        if name.startswith("cuda:"):
            index = name.split(":", 1)[1]
            if not index.isdigit():
                raise ReprobookError(f"device {name!r} is not of the form cuda:N")
            if int(index) >= torch.cuda.device_count():
                raise ReprobookError(f"device {name!r} was asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
        return torch.device(name)
    raise ReprobookError(f"unknown device {name!r}; choose one of: {', '.join(DEVICE_CHOICES)}")


def device_description(device: torch.device) -> str:
    """A human-readable name for records: the GPU's model, or the CPU's."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    import platform
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"CPU: {cpu} ({torch.get_num_threads()} threads)"
