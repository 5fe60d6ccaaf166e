"""Corpus reading, vocabulary, held-out split and contiguous BPTT batching."""
from __future__ import annotations

import pytest
import torch

from rnnkit.data.text import UNK, ContiguousBatches, Vocab, read_corpus, split_text
from rnnkit.errors import DataError


# ----------------------------------------------------------------- read_corpus
def test_read_corpus_reads_utf8_drops_bom_and_crlf(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfRom\xc3\xa9o:\r\nHello\r\n")
    assert read_corpus(path) == "Roméo:\nHello\n"


def test_read_corpus_empty_file_is_one_line_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(DataError) as err:
        read_corpus(path)
    assert str(err.value) == f"text file {path}: the file is empty; a corpus needs text"


def test_read_corpus_whitespace_only_is_an_error(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text(" \n\n\t\n")
    with pytest.raises(DataError, match="holds only whitespace"):
        read_corpus(path)


def test_read_corpus_non_utf8_names_line_column_and_byte(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("First line\nCaf".encode() + b"\xe9 au lait\n")
    with pytest.raises(DataError) as err:
        read_corpus(path)
    assert str(err.value) == (
        f"text file {path}: line 2, column 4: byte 0xe9 at offset 14 is not valid UTF-8; "
        "re-save the file as UTF-8"
    )


def test_read_corpus_missing_and_directory(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_corpus(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="is a directory"):
        read_corpus(tmp_path)


# ----------------------------------------------------------------------- vocab
def test_vocab_puts_unknown_first_and_sorts_the_rest():
    vocab = Vocab.from_text("banana!")
    assert vocab.chars == (UNK, "!", "a", "b", "n")
    assert vocab.unk_id == 0 and len(vocab) == 5


def test_encode_decode_round_trip_and_unseen_report():
    vocab = Vocab.from_text("hello world\n")
    ids, unseen = vocab.encode("hello\nworld")
    assert not unseen
    assert ids.dtype == torch.int64
    assert vocab.decode(ids) == "hello\nworld"
    ids, unseen = vocab.encode("héllo, wörld")
    assert dict(unseen) == {"é": 1, ",": 1, "ö": 1}
    assert ids[1] == 0 and ids[5] == 0 and ids[8] == 0
    assert vocab.decode(ids) == f"h{UNK}llo{UNK} w{UNK}rld"


def test_encode_non_bmp_characters():
    vocab = Vocab.from_text("a😀b")
    ids, unseen = vocab.encode("😀ab🎉")
    assert vocab.decode(ids) == f"😀ab{UNK}" and dict(unseen) == {"🎉": 1}


def test_vocab_dict_round_trip_and_bad_dicts():
    vocab = Vocab.from_text("xyz")
    assert Vocab.from_dict(vocab.to_dict()) == vocab
    with pytest.raises(DataError, match="expected"):
        Vocab.from_dict({"chars": "abc"})
    with pytest.raises(DataError, match="unknown symbol"):
        Vocab.from_dict({"chars": ["a", "b"]})
    with pytest.raises(DataError, match="code-point order"):
        Vocab.from_dict({"chars": [UNK, "b", "a"]})


def test_decode_out_of_range_id():
    with pytest.raises(DataError, match=r"id 9 is out of range \[0, 3\)"):
        Vocab.from_text("ab").decode([1, 9])


# ----------------------------------------------------------------------- split
def test_split_is_contiguous_held_out_and_cut_at_a_blank_line():
    speeches = [f"Speaker{i}:\nline {i} of the play\n" for i in range(100)]
    text = "\n".join(speeches)
    train, val = split_text(text, 0.05)
    assert train + val == text
    assert train.endswith("\n\n") and val.startswith("Speaker")
    # The cut moves forward to the next speech: at most one speech (33 chars) less than 5%.
    assert len(text) * 0.05 - 33 <= len(val) <= len(text) * 0.05


def test_split_without_boundary_keeps_the_fraction_and_rejects_bad_fraction():
    text = "x" * 1000
    train, val = split_text(text, 0.1)
    assert (len(train), len(val)) == (900, 100)
    with pytest.raises(DataError, match=r"val_fraction: must be in \(0, 1\), saw 1.5"):
        split_text(text, 1.5)


# --------------------------------------------------------------------- batches
def test_batches_are_time_major_streams_with_next_char_targets():
    ids = torch.arange(101)
    batches = ContiguousBatches(ids, batch_size=4, seq_len=10)  # S = 25 per stream
    assert batches.stream_len == 25 and len(batches) == 3 and batches.chars_per_pass == 100
    chunks = list(batches)
    assert [tuple(x.shape) for x, _ in chunks] == [(10, 4), (10, 4), (5, 4)]
    for x, y in chunks:
        assert torch.equal(y, x + 1)  # targets are the next character
    # Row b of all chunks, read in order, is stream b: ids[b*S : (b+1)*S].
    stream = torch.cat([x for x, _ in chunks], dim=0)  # (S, B)
    for b in range(4):
        assert torch.equal(stream[:, b], ids[b * 25:(b + 1) * 25])


def test_chunk_k_plus_1_continues_where_chunk_k_stopped():
    ids = torch.randint(0, 50, (1000,))
    chunks = list(ContiguousBatches(ids, batch_size=3, seq_len=7))
    for (x0, y0), (x1, _) in zip(chunks, chunks[1:]):
        assert torch.equal(x1[0], y0[-1])  # the next input is the last target
        assert torch.equal(x0[1:], y0[:-1])


def test_corpus_shorter_than_one_chunk_is_one_line_error():
    with pytest.raises(DataError) as err:
        ContiguousBatches(torch.zeros(100, dtype=torch.int64), 4, 32, name="text file a.txt")
    assert str(err.value) == (
        "text file a.txt: 100 characters is shorter than one training chunk, which needs "
        "batch_size * seq_len + 1 = 4 * 32 + 1 = 129; use more text or smaller sizes, "
        "e.g. --set train.batch_size=3 --set data.seq_len=32"
    )


def test_max_chunks_makes_sub_epochs_that_continue_and_wrap():
    batches = ContiguousBatches(torch.arange(41), batch_size=2, seq_len=4, max_chunks=3)
    assert batches.n_chunks == 5 and len(batches) == 3
    first = [x[0, 0].item() for x, _ in batches]
    second = [x[0, 0].item() for x, _ in batches]
    assert first == [0, 4, 8] and second == [12, 16, 0]


def test_bad_batch_arguments():
    with pytest.raises(DataError, match="batch_size: must be >= 1, saw 0"):
        ContiguousBatches(torch.arange(10), 0, 2)
    with pytest.raises(DataError, match="seq_len: must be >= 1, saw 0"):
        ContiguousBatches(torch.arange(10), 1, 0)
