"""The 20 bAbI tasks (Weston et al., 2015), 1k English set (``tasks_1-20_v1-2/en``), as MemN2N reads them.

Each task file is a sequence of stories: numbered lines, the numbers restarting at 1 with each story; a line
holding a tab is a question, ``question<TAB>answer<TAB>supporting line numbers``. A question sees the
sentences of its story before it (not the earlier questions). Every file is checked against its pinned
sha256 before it is parsed. Files come from the offline mirror when ``REPROBOOK_OFFLINE_MIRROR`` is set,
else from the tasks' canonical tarball (``BABI_URL``), unpacked into the data cache.

The pins are of the 40 files of ``en/`` as the offline mirror holds them (its MANIFEST lists their source
and sha256); the tarball itself carries no pin, its members do.
"""
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from reprobook.data import MIRROR_ENV, cache_dir, mirror_dir, sha256_of
from reprobook.errors import ReprobookError

BABI_URL = "http://www.thespermwhale.com/jaseweston/babi/tasks_1-20_v1-2.tar.gz"
FOLDER = "bAbI/tasks_1-20_v1-2"      # in the cache and the mirror; the tarball's top folder is tasks_1-20_v1-2/
TASKS = {
    1: "single-supporting-fact",
    2: "two-supporting-facts",
    3: "three-supporting-facts",
    4: "two-arg-relations",
    5: "three-arg-relations",
    6: "yes-no-questions",
    7: "counting",
    8: "lists-sets",
    9: "simple-negation",
    10: "indefinite-knowledge",
    11: "basic-coreference",
    12: "conjunction",
    13: "compound-coreference",
    14: "time-reasoning",
    15: "basic-deduction",
    16: "basic-induction",
    17: "positional-reasoning",
    18: "size-reasoning",
    19: "path-finding",
    20: "agents-motivations",
}
SPLITS = ("train", "test")
BABI_SHA256 = {
    (1, "train"): "c64ba9b1a49bbb111ffc4cd2ae4f129d25c012399dd7ade9679eea464b9afb05",
    (1, "test"): "55acf66cef2f6d798e2aa1d056e1ec8f24e910ea9215b639450574321132959b",
    (2, "train"): "a4978af5bc0dc30191810e7c9949aaa6eae939ed0f6beb9fcb5f4330c2a27860",
    (2, "test"): "eff93fb9cd81ba02eb765772cf7cc269769ed44ec71cbbbc19cfb16ee5eba0f6",
    (3, "train"): "a6e78019f36a02a7ed71fe6aaded0b563ff09c8deec392931801fcd9c6af4d60",
    (3, "test"): "17795c977100baf8188f386522ae301b62d6c1a13efc01b3aea781e588b4d57f",
    (4, "train"): "c9370502d85fa382f32d1fea2111e817f81ae9e3e79eb2924a1a5392a90417fa",
    (4, "test"): "07f0ca18ddeea9eed4ba6d59e162adcb0ce44815721114b3540d92825509331e",
    (5, "train"): "086cd59c3ca9677bfac3d6a22ca5853c76a5c1fbae3159c7c4a6aef759a74ec0",
    (5, "test"): "ec825c1c8a76e63a31f0d7a7763cd63740e98332fa9bdf246a19068949bd5f97",
    (6, "train"): "5a133115ee35d475776df703ff605d145b11effbcdbf7e74861f9d5639246a5a",
    (6, "test"): "b108b16f1eccbd1c24df6dca2649079a7b2f10af7fd12d4c45a3393802de59e3",
    (7, "train"): "dca03bd91876951c49f1c971c83c9dd55404de60201b7b6435451cf7ddb4751c",
    (7, "test"): "a74d1f2b91329b2bae814d41cdac2fbdfdf0328562b7d8afa9a0fa576d461e27",
    (8, "train"): "058604df6f9440458317e8ae685d2b7b84261e1a80b4d6410a9140d16f81bf06",
    (8, "test"): "362a653c821a580fa315a85243b4f03bfa06fa7e0269b6f8e596f8fe6911646a",
    (9, "train"): "0c3b89921af0caea1c4059ee3f7b7f2a88869f924195a428da37820446b8c49f",
    (9, "test"): "63590aff3f89993db409f0e9a9eb39c2a5b9d5efff99b255d800a891b0044d9f",
    (10, "train"): "0b7691689447bab05476c5b48c44999b41e747c3978df69c18fdd87b60d6e8b3",
    (10, "test"): "fde8f20ed0b3ba979058ed391a566af34653f23baab5b2793ee37f87ef4e88b7",
    (11, "train"): "9468de9a1f256f43dfda693a5d07182d21149a82b65f7c2451c64e9cff5eb138",
    (11, "test"): "46f3290d0158ce1285a40cd2d793f5a65f86ae5000226e165cbc85a3dfeb2f6f",
    (12, "train"): "45c2764bb2d3c8f699d35e9d9aa7958fcd96379c6e907116cdf74526c108bb25",
    (12, "test"): "6437718f8f9801ce345869e910b896836cdc6fd2d01dc7b4d2df49730703b4b1",
    (13, "train"): "533a391edbda743e4c99504de88b40cdded5b1d5ef454d1390f0863f748a4cc9",
    (13, "test"): "76a25b684f23c9cc473d8cd1465506168b9a1ec8891cfc59d0bbd87e6a064990",
    (14, "train"): "b7561cbc624205c9c2fdbb8c843cfa8ad90edd65e78bb223fc6dea8113662df8",
    (14, "test"): "e3f0b19858ffbec3ed1e49076cc4d1295a89ce146c50318b862f13f202b3caf2",
    (15, "train"): "e856ebfdcce4dd7d617c1d10f985e96a0850c0ca18e9a19a017cb710d135ed3d",
    (15, "test"): "32b77e117fe9acf5f94906684e3b5206de0108e646c76e1da3e022896ec7ee94",
    (16, "train"): "20121005137e3d4b061a086eb177a456303d5742b764eb8da2d0e480b6af4d28",
    (16, "test"): "4a11e55366f2a5a859b5a81f683ee23801bdbe71ef984e51adb976bd053e8dcf",
    (17, "train"): "20083bf56ff74f0e7cf5e3e2f8c3905cdb8ef09293c3e8cf7a96ed8b45ae2277",
    (17, "test"): "9e1e0250ed4ec1831757fab26c04138f81ea557ebf6976a220db879cbed04bac",
    (18, "train"): "18b7dcf52c9a0e87e4e7dd3d65b7e5a630de039645f52a1294197af7481d739d",
    (18, "test"): "d34f70eb7228a276fcb3a7854174fe562c5634f4fb454a39fc3d1ad9934be3ef",
    (19, "train"): "dcb788352a56effb7bea1449128f31cc9c342c8c327b6df2caeee0e379e6ad3a",
    (19, "test"): "023e391f0d7f79c9e6ae1c46c093e2d0dbd50ab8fbd8965e037a75e3614c20e5",
    (20, "train"): "29580ad55fb7b4b29ba014696056cc68f8f347dac3be88470fd692ad60150398",
    (20, "test"): "bd3bde3788ac14ba0ae095078f7b820fbd2bfa6a34dba9d1d46a34afde9c2729",
}
NIL = "<nil>"           # id 0: the empty word that pads sentences, queries and memory slots


def file_name(task: int, split: str) -> str:
    return f"en/qa{task}_{TASKS[task]}_{split}.txt"


def _check_task(task: int, split: str) -> None:
    if task not in TASKS:
        raise ReprobookError(f"unknown bAbI task {task!r}; the tasks are 1-20")
    if split not in SPLITS:
        raise ReprobookError(f"unknown bAbI split {split!r}; choose one of: {', '.join(SPLITS)}")


def _unpack_tarball(url: str) -> None:
    """Download the canonical tarball once and write every pinned member into the cache."""
    target_folder = cache_dir() / FOLDER
    target_folder.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            archive = io.BytesIO(response.read())
    except OSError as error:
        raise ReprobookError(f"could not download the bAbI tasks from {url} ({error}); offline, point {MIRROR_ENV} "
                             f"at a folder that holds {FOLDER}/en/") from None
    with tarfile.open(fileobj=archive, mode="r:gz") as tar:
        for task, split in BABI_SHA256:
            member = tar.extractfile(f"tasks_1-20_v1-2/{file_name(task, split)}")
            if member is None:
                raise ReprobookError(f"{url} lacks tasks_1-20_v1-2/{file_name(task, split)}")
            _write_atomically(target_folder / file_name(task, split), member.read())


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".part-") as tmp:
        tmp.write(data)
        partial = Path(tmp.name)
    os.replace(partial, target)


def babi_file(task: int, split: str) -> Path:
    """The cached file of one task and split, fetched if missing or if it fails its sha256 check."""
    _check_task(task, split)
    relative = f"{FOLDER}/{file_name(task, split)}"
    expected = BABI_SHA256[(task, split)]
    path = cache_dir() / relative
    if path.is_file() and sha256_of(path) == expected:
        return path
    mirror = mirror_dir()
    if mirror is not None:
        if not (mirror / relative).is_file():
            raise ReprobookError(f"missing data file {relative}: not in the offline mirror that {MIRROR_ENV} names "
                                 f"(its canonical source is {BABI_URL}; unset {MIRROR_ENV} to download it)")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=".part-") as tmp:
            partial = Path(tmp.name)
        shutil.copyfile(mirror / relative, partial)
        os.replace(partial, path)
    else:
        _unpack_tarball(BABI_URL)
    if (actual := sha256_of(path)) != expected:
        path.unlink()
        raise ReprobookError(f"data file {relative} has sha256 {actual}, expected {expected}; removed it")
    return path


def data_sha256(tasks) -> str:
    """One digest of the pinned files of ``tasks``: what a run's configuration names as its data."""
    return hashlib.sha256("".join(BABI_SHA256[(t, s)] for t in sorted(tasks) for s in SPLITS).encode()).hexdigest()


@dataclass(frozen=True)
class Question:
    """One question with the sentences of its story before it (oldest first), as word tuples."""
    task: int
    story_index: int                       # which story of the file (0, 1, ...)
    sentences: tuple[tuple[str, ...], ...]
    query: tuple[str, ...]
    answer: str
    supporting: tuple[int, ...]            # indices into ``sentences`` of the supporting facts


def words(text: str) -> tuple[str, ...]:
    """Lower case, the full stop and question mark dropped, split on white space."""
    return tuple(text.lower().replace(".", " ").replace("?", " ").split())


def parse_babi(text: str, task: int, where: str = "bAbI") -> list[Question]:
    """Every question of one task file, each with its story so far."""
    questions, sentences, line_to_sentence, story_index = [], [], {}, -1
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        line_id, _, rest = line.partition(" ")
        if not line_id.isdigit():
            raise ReprobookError(f"{where}, line {number}: expected 'ID text'")
        if line_id == "1":
            sentences, line_to_sentence, story_index = [], {}, story_index + 1
        if "\t" in rest:
            query, answer, supporting = (rest.split("\t") + [""])[:3]
            try:
                support = tuple(line_to_sentence[int(s)] for s in supporting.split())
            except (KeyError, ValueError):
                raise ReprobookError(f"{where}, line {number}: supporting facts {supporting!r} name no sentence of the story") from None
            questions.append(Question(task, story_index, tuple(sentences), words(query), answer.strip().lower(), support))
        else:
            line_to_sentence[int(line_id)] = len(sentences)
            sentences.append(words(rest))
    return questions


def read_task(task: int, split: str) -> list[Question]:
    path = babi_file(task, split)
    return parse_babi(path.read_text(), task, where=f"{FOLDER}/{file_name(task, split)}")


class Vocabulary:
    """Words and answers of the questions it is built from; id 0 is the empty word ``NIL``."""

    def __init__(self, questions):
        found = {w for q in questions for sentence in (*q.sentences, q.query) for w in sentence}
        found |= {q.answer for q in questions}
        self.words = [NIL] + sorted(found)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, tokens) -> list[int]:
        return [self.index[w] for w in tokens]


@dataclass
class Encoded:
    """Questions as tensors: ``memory [N, M, L]`` (slot 0 the most recent sentence; empty slots and padding
    are id 0), ``query [N, Lq]``, ``answer [N]``, ``task [N]``."""
    memory: torch.Tensor
    query: torch.Tensor
    answer: torch.Tensor
    task: torch.Tensor

    def __len__(self) -> int:
        return len(self.answer)

    def subset(self, index) -> "Encoded":
        return Encoded(self.memory[index], self.query[index], self.answer[index], self.task[index])

    def to(self, device) -> "Encoded":
        return Encoded(*(t.to(device) for t in (self.memory, self.query, self.answer, self.task)))


def encode(questions: list[Question], vocabulary: Vocabulary, memory_size: int) -> Encoded:
    """The last ``memory_size`` sentences of each question's story, most recent first (Section 4.1: the
    sentences are indexed in reverse order, x_1 the last one), the query and the answer's id."""
    kept = [q.sentences[-memory_size:][::-1] for q in questions]
    length = max([len(s) for story in kept for s in story] + [1])
    memory = torch.zeros(len(questions), memory_size, length, dtype=torch.long)
    query = torch.zeros(len(questions), max(len(q.query) for q in questions), dtype=torch.long)
    for n, (q, story) in enumerate(zip(questions, kept)):
        for slot, sentence in enumerate(story):
            memory[n, slot, :len(sentence)] = torch.tensor(vocabulary.ids(sentence))
        query[n, :len(q.query)] = torch.tensor(vocabulary.ids(q.query))
    answer = torch.tensor(vocabulary.ids(q.answer for q in questions))
    return Encoded(memory, query, answer, torch.tensor([q.task for q in questions]))


def training_split(questions: list[Question], validation_share: float) -> tuple[list[Question], list[Question]]:
    """The last ``validation_share`` of a task's training questions held out for validation (Section 4.2:
    10 % of the training set; which 10 % the paper does not say, the authors' code takes the last)."""
    cut = len(questions) - int(round(validation_share * len(questions)))
    return questions[:cut], questions[cut:]
