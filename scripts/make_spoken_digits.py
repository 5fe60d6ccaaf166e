"""Make the bundled spoken digits (``src/rnnkit/datasets/speech/spoken_digits_synth``).

Not run at install or test time: it needs the Debian packages ``espeak-ng``, ``sox``,
``festival``, ``festvox-kallpc8k``, ``festvox-kdlpc8k``, ``festvox-us-slt-hts``, ``festvox-itapc16k``,
``festvox-italp16k``, ``festvox-czech-dita``, ``festvox-czech-krb``, ``festvox-czech-machac``,
``festvox-czech-ph``, ``festvox-suopuhe-lj``, ``festvox-suopuhe-mv``, ``festvox-ca-ona-hts``,
``festvox-ru`` and ``flite`` (``apt-get install`` them), and it rewrites the folder's WAVs (not
PROVENANCE.md). sox dithers when it writes 16 bits, so a rerun differs from the bundled
files by a few least significant bits.

    python scripts/make_spoken_digits.py                 # into the bundled folder
    python scripts/make_spoken_digits.py --out /tmp/dig  # elsewhere

Three synthesis engines, 89 speakers (espeak 31, festival 36, flite 22), 10 words
("zero".."nine") per speaker:

- ``espeak``: espeak-ng, a formant synthesiser: English accents x voice variants, with
  its own pitch (``-p``) and speed (``-s``, words per minute); and 15 of its voices of
  other languages (``ESPEAK_FOREIGN``) saying the English words respelt in their own
  spelling (``RESPELT``): accented English;
- ``festival``: Festival's diphone voices ``kal`` and ``ked`` (concatenated recordings of
  two American men) and the HTS voice ``slt`` (a statistical model of an American
  woman); speed by ``Duration_Stretch``, pitch shifted afterwards by ``sox pitch``; and
  ten non-English voices (Italian pc, lp; Czech dita, krb, machac, ph; Finnish lj, mv:
  diphones of real speakers; Catalan ona: HTS; Russian nsh: unit selection) saying the
  English words respelt in their own language's spelling (``RESPELT``), each as
  recorded and 15 % faster (``sox tempo``) and 200 cents higher: accented English from
  ten more vocal tracts;
- ``flite``: Flite's built-in voices ``kal``, ``kal16`` (diphone), ``awb``, ``rms``, ``slt``
  (clustergen, trained on a Scottish man, an American man, an American woman), with
  its own ``duration_stretch`` and ``int_f0_target_mean``; and six of them again with the
  whole spectrum moved by ``sox pitch`` (-400..+500 cents: formants too, a shorter or
  longer vocal tract).

File ``<digit>_<engine>-<voice>-<variant>.wav``: the speaker is everything after the
first ``_``, the engine the word before the first ``-``. Every file is mono 16-bit PCM,
peak-normalised to -3 dBFS, with leading and trailing silence (below 0.1 % of full
scale) trimmed by ``sox silence`` and 30 ms of silence put back at each end; two
speakers per engine are written at 16 kHz, the others at 8 kHz.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "rnnkit" / "datasets" / "speech" / "spoken_digits_synth"
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

# espeak-ng: (voice, variant, pitch 0-99, speed in words per minute)
ESPEAK = [
    ("en-us", "m3", 40, 150), ("en-us", "f2", 70, 170), ("en-us", "klatt", 50, 130),
    ("en-us", "f4", 60, 190), ("en-gb", "m1", 35, 160), ("en-gb", "f3", 75, 140),
    ("en-gb-scotland", "m2", 45, 175), ("en-gb-scotland", "f1", 65, 150),
    ("en-gb-x-rp", "m4", 30, 140), ("en-gb-x-rp", "f5", 80, 160), ("en-029", "m6", 50, 180),
    ("en-029", "klatt2", 55, 145), ("en-gb-x-gbclan", "m7", 40, 165),
    ("en-gb-x-gbclan", "f2", 70, 135), ("en-gb-x-gbcwmd", "klatt4", 45, 155),
    ("en-gb-x-gbcwmd", "m5", 50, 170),
]
# espeak-ng's voices of other languages saying the English words respelt in that language's
# spelling (RESPELT; Russian in Cyrillic): accented English, as the festival voices below.
# (language voice, variant, pitch, speed); the speaker is espeak-<language>-<variant>
ESPEAK_FOREIGN = [
    ("de", "m2", 45, 150), ("es", "f3", 70, 160), ("fr-fr", "m5", 40, 150), ("it", "f1", 65, 155),
    ("pl", "m6", 50, 145), ("cs", "f4", 75, 150), ("nl", "m8", 45, 160), ("sv", "f5", 70, 145),
    ("hu", "klatt3", 50, 150), ("pt-br", "m1", 40, 165), ("tr", "f2", 60, 150), ("id", "m3", 55, 140),
    ("sw", "f3", 65, 150), ("ro", "m7", 35, 155), ("ru", "m4", 40, 150),
]
# festival: (voice, variant, Duration_Stretch, pitch shift in cents by sox)
FESTIVAL_VOICES = {"kal": "kal_diphone", "ked": "ked_diphone", "slt": "cmu_us_slt_arctic_hts"}
FESTIVAL_VARIANTS = [("v1", 1.0, 0), ("v2", 0.85, 200), ("v3", 1.2, -200), ("v4", 1.0, 400),
                     ("v5", 0.9, -400), ("v6", 1.1, 100)]
FESTIVAL = ([("kal",) + v for v in FESTIVAL_VARIANTS] + [("ked",) + v for v in FESTIVAL_VARIANTS[:5]]
            + [("slt",) + v for v in FESTIVAL_VARIANTS[:5]])
# festival's non-English voices (recordings of Italian, Czech, Finnish and Catalan
# speakers) saying the English words, spelt as each language would write how they sound:
# accented English from nine more vocal tracts. voice -> (festival voice, language)
FOREIGN_VOICES = {"it-pc": ("pc_diphone", "it"), "it-lp": ("lp_diphone", "it"),
                  "cs-dita": ("czech_dita", "cs"), "cs-krb": ("czech_krb", "cs"),
                  "cs-machac": ("czech_machac", "cs"), "cs-ph": ("czech_ph", "cs"),
                  "fi-lj": ("suo_fi_lj_diphone", "fi"), "fi-mv": ("hy_fi_mv_diphone", "fi"),
                  "ca-ona": ("upc_ca_ona_hts", "ca"), "ru-nsh": ("msu_ru_nsh_clunits", "ru")}
RESPELT = {  # "zero".."nine" in each language's spelling (ASCII but Russian, passed as UTF-8)
    "it": ["ziro", "uan", "tu", "tri", "for", "faiv", "sics", "seven", "eit", "nain"],
    "cs": ["zirou", "uan", "tu", "tri", "for", "fajv", "siks", "sevn", "ejt", "najn"],
    "fi": ["siirou", "uan", "tuu", "trii", "foor", "faiv", "siks", "seven", "eit", "nain"],
    "ca": ["ziro", "uan", "tu", "tri", "for", "faiv", "sics", "seven", "eit", "nain"],
    "de": ["sierou", "uan", "tuh", "sri", "fohr", "faif", "siks", "sewen", "ejt", "nein"],
    "es": ["siro", "uan", "tu", "tri", "for", "faif", "siks", "seven", "eit", "nain"],
    "fr-fr": ["ziro", "ouane", "tou", "tri", "fore", "fayve", "sixe", "sevene", "eyte", "nayne"],
    "pl": ["ziro", "uan", "tu", "tri", "for", "fajw", "siks", "sewen", "ejt", "najn"],
    "nl": ["zierou", "wan", "toe", "srie", "foor", "faiv", "siks", "seven", "eejt", "najn"],
    "sv": ["siro", "uan", "tu", "tri", "for", "fajv", "siks", "seven", "ejt", "najn"],
    "hu": ["ziro", "uan", "tu", "tri", "for", "fajv", "sziksz", "szeven", "ejt", "najn"],
    "pt-br": ["ziru", "uan", "tu", "tri", "for", "faiv", "siks", "seven", "eit", "nain"],
    "tr": ["ziro", "uan", "tu", "tri", "for", "fayv", "siks", "seven", "eyt", "nayn"],
    "id": ["ziro", "wan", "tu", "tri", "for", "faif", "siks", "seven", "eit", "nain"],
    "sw": ["ziro", "wani", "tu", "thri", "fo", "faivu", "siksi", "seveni", "eiti", "naini"],
    "ro": ["ziro", "uan", "tu", "tri", "for", "faiv", "siks", "seven", "eit", "nain"],
    "ru": ["зироу", "уан", "ту", "сри", "фор", "файв", "сикс", "севен", "эйт", "найн"],
}

FOREIGN = [(v,) + x for v in FOREIGN_VOICES for x in (FESTIVAL_VARIANTS[0], FESTIVAL_VARIANTS[1])]
# flite: (voice, variant, duration_stretch, target mean F0 in Hz; None: the voice's own)
FLITE_VARIANTS = [("v1", 1.0, None), ("v2", 0.85, "+25"), ("v3", 1.2, "-20"), ("v4", 1.05, "+50")]
FLITE = ([(v,) + x for v in ("awb", "rms", "slt") for x in FLITE_VARIANTS]
         + [(v,) + x for v in ("kal", "kal16") for x in FLITE_VARIANTS[:2]])
# flite's voices again with the whole spectrum moved by sox ``pitch`` (formants with the
# pitch: a shorter or longer vocal tract): (voice, variant, duration_stretch, cents)
FLITE_SHIFTED = [("awb", "v5", 1.0, 400), ("awb", "v6", 0.9, -300), ("rms", "v5", 1.1, 500),
                 ("slt", "v5", 0.9, -400), ("slt", "v6", 1.0, 300), ("kal", "v3", 1.15, 400)]
FLITE_F0 = {"awb": 110, "rms": 105, "slt": 170, "kal": 105, "kal16": 105}  # approximate means
RATE_16K = {"espeak-en-us-m3", "espeak-en-gb-f3", "festival-kal-v1", "festival-slt-v2",
            "flite-awb-v1", "flite-slt-v2"}


def _run(cmd: list[str], stdin: str | None = None) -> None:
    subprocess.run(cmd, input=stdin, text=True, encoding="utf-8", check=True, capture_output=True)


def commands() -> list[tuple[str, str, list[list[str]], float, int]]:
    """(speaker, word, synthesis command with RAW as the output path, stretch, cents) for every file."""
    jobs = []
    for voice, variant, pitch, speed in ESPEAK:
        for word in WORDS:
            jobs.append((f"espeak-{voice}-{variant}", word,
                         ["espeak-ng", "-v", f"{voice}+{variant}", "-p", str(pitch), "-s", str(speed),
                          "-w", "RAW", word], 1.0, 0))
    for lang, variant, pitch, speed in ESPEAK_FOREIGN:
        for word, spelt in zip(WORDS, RESPELT[lang]):
            jobs.append((f"espeak-{lang}-{variant}", word,
                         ["espeak-ng", "-v", f"{lang}+{variant}", "-p", str(pitch), "-s", str(speed),
                          "-w", "RAW", spelt], 1.0, 0))
    for voice, variant, stretch, cents in FESTIVAL:
        for word in WORDS:
            cmd = ["text2wave", "-eval", f"(voice_{FESTIVAL_VOICES[voice]})",
                   "-eval", f"(Parameter.set 'Duration_Stretch {stretch})", "-o", "RAW"]
            # the HTS voice ignores Duration_Stretch: sox tempo stretches it instead
            jobs.append((f"festival-{voice}-{variant}", word, cmd, stretch if voice == "slt" else 1.0, cents))
    for voice, variant, stretch, cents in FOREIGN:
        festvox, lang = FOREIGN_VOICES[voice]
        for word, spelt in zip(WORDS, RESPELT[lang]):
            cmd = ["text2wave", "-eval", f"(voice_{festvox})", "-o", "RAW", "SAY:" + spelt]
            jobs.append((f"festival-{voice}-{variant}", word, cmd, stretch, cents))
    for voice, variant, stretch, f0 in FLITE:
        for word in WORDS:
            cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}"]
            if f0 is not None:
                cmd += ["--setf", f"int_f0_target_mean={FLITE_F0[voice] + int(f0)}"]
            jobs.append((f"flite-{voice}-{variant}", word, cmd + ["-t", word, "-o", "RAW"], 1.0, 0))
    for voice, variant, stretch, cents in FLITE_SHIFTED:
        for word in WORDS:
            cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", word, "-o", "RAW"]
            jobs.append((f"flite-{voice}-{variant}", word, cmd, 1.0, cents))
    return jobs


def make_one(job, out: Path, tmp: Path) -> Path:
    speaker, word, cmd, stretch, cents = job
    digit = WORDS.index(word)
    raw = tmp / f"{digit}_{speaker}.raw.wav"
    said = next((c[4:] for c in cmd if c.startswith("SAY:")), word)  # a respelt word, or the word
    cmd = [c for c in cmd if not c.startswith("SAY:")]
    _run([raw.as_posix() if c == "RAW" else c for c in cmd], stdin=said if cmd[0] == "text2wave" else None)
    rate = 16000 if speaker in RATE_16K else 8000
    target = out / f"{digit}_{speaker}.wav"
    effects = []
    if cents:
        effects += ["pitch", str(cents)]
    if stretch != 1.0:
        effects += ["tempo", "-s", str(1.0 / stretch)]
    effects += ["silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%", "reverse",
                "pad", "0.03", "0.03", "gain", "-n", "-3", "rate", "-v", str(rate)]
    _run(["sox", raw.as_posix(), "-b", "16", "-c", "1", target.as_posix(), *effects])
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.wav"):
        old.unlink()
    jobs = commands()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        made = list(pool.map(lambda j: make_one(j, args.out, Path(tmp)), jobs))
    size = sum(p.stat().st_size for p in made)
    print(f"wrote {len(made)} files, {size / 1e6:.2f} MB, to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
