"""reprobook: the utility package of *Neural Network Papers, Replicated*.

It holds only what two or more chapters use: device selection, seeding, data loading, the
multi-seed run loop, records, claims, plotting style, the command line and the Sphinx extension.
"""
import warnings

from .errors import ReprobookError

__version__ = "0.1.0"

# Known, harmless notices that would otherwise clutter every rendered page: torch's beta label and
# invariant-check notice on sparse tensors (our use is covered by tests), and tqdm's note that no
# notebook widget is installed.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
warnings.filterwarnings("ignore", message="IProgress not found")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")

__all__ = ["ReprobookError", "__version__"]
