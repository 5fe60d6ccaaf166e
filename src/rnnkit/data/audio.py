"""The audio front end: log-mel or MFCC features with deltas, from a WAV file or a signal.

Reading is :mod:`rnnkit.data.wav` (:func:`read_wav`, its rules for awkward files).

Features, per utterance x of N samples at rate r (W = window, S = hop, in samples)::

    frames_t = hann(W) * x[t*S : t*S + W]                 t = 0 .. T-1, T = 1 + (N-W)//S
    P_t      = |rfft(frames_t, n_fft)|^2                  (T, n_fft//2 + 1)
    M_t      = log(max(P_t @ F^T, 1e-10))                 (T, n_mels)   F: mel filterbank
    C_t      = DCT-II_ortho(M_t)[:n_mfcc]                 (T, n_mfcc)   if n_mfcc > 0
    d_t      = sum_k k (C_{t+k} - C_{t-k}) / (2 sum_k k^2) k = 1..K   (the regression delta)

The mel scale is HTK's, mel(f) = 2595 log10(1 + f/700); filter m is a triangle from
the centre of filter m-1 to that of m+1, peak 1, not area-normalised (HTK, and
``librosa.filters.mel(htk=True, norm=None)``). The delta is a Savitzky-Golay first
derivative of order 1 (:func:`scipy.signal.savgol_filter`), which equals the
regression formula above with edge frames repeated. Per-utterance normalisation
(``normalize``) subtracts each feature's mean over time and divides by its standard
deviation. Before any of this, :func:`trim_silence` drops the leading and trailing
frames more than ``trim_db`` dB below the loudest frame. ``compression = "pcen"``
replaces the log of M_t by :func:`pcen` of the mel energies; ``static = false`` keeps the
deltas and drops the static coefficients they came from. Training-time augmentation
(the ``aug_*`` fields) is in :mod:`rnnkit.data.audio_augment`.

``noise_floor_db`` (:func:`noise_floor`) lays white noise at that SNR under every
utterance, training and prediction alike: y = x + n, 10 log10(mean(x^2) / mean(n^2)) = noise_floor_db.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.audio_augment import add_noise, mask_spectrogram
from rnnkit.data.audio_eq import check_eq
from rnnkit.data.audio_hiband import check_hiband
from rnnkit.data.audio_mix import check_mixup
from rnnkit.data.wav import MAX_RATE, MIN_RATE, read_wav
from rnnkit.errors import DataError

TTA_MAX_VIEWS = 10  # len(rnnkit.data.audio_tta.TTA_VIEWS)

__all__ = [
    "AudioConfig",
    "hz_to_mel",
    "mel_to_hz",
    "mel_filterbank",
    "vtlp_warp",
    "power_spectrogram",
    "mel_energies",
    "log_mel",
    "pcen",
    "mfcc",
    "add_deltas",
    "normalize_utterance",
    "trim_silence",
    "noise_floor",
    "features_from_signal",
    "wav_features",
]


@dataclass(frozen=True)
class AudioConfig:
    """How WAV files become feature sequences of shape (T, F)."""

    sample_rate: int = 8000          # every file is brought to this rate
    rate_mismatch: str = "resample"  # "resample" | "refuse"
    stereo: str = "mix"              # "mix" (average channels) | "refuse"
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_mels: int = 40
    n_mfcc: int = 13                 # 0: use the log-mel energies themselves
    deltas: int = 2                  # 0 none, 1 deltas, 2 deltas and delta-deltas
    delta_width: int = 2             # K in the regression delta
    # Keep the static coefficients (cepstra or log-mel energies); False: only their deltas
    # (needs deltas >= 1): how the spectrum moves, not where it sits.
    static: bool = True
    fmin: float = 20.0
    fmax: float | None = None        # None: Nyquist
    normalize: bool = True           # per-utterance mean/variance normalisation
    # Trim leading and trailing frames more than trim_db below the loudest frame
    # (trim_silence); 0 or None: keep the whole file.
    trim_db: float | None = 40.0
    # White noise at this SNR (dB, relative to the trimmed utterance's own power) laid
    # under every utterance, training and prediction alike (noise_floor); 0 or None: off.
    noise_floor_db: float | None = None
    # Training-time augmentation (data.augment; audio_augment): [] / None / 0 is off.
    # Raise every log-mel energy to at least (the utterance's largest) - floor_db dB, so the
    # quiet spectral floor, which differs between recordings and synthesisers, is one
    # value (dynamic-range floor); 0 or None: no floor.
    floor_db: float | None = None
    # "log": log mel energies (above); "pcen": per-channel energy normalisation (pcen) of
    # the mel energies instead, an automatic gain control per band with time constant
    # pcen_time_ms, then root compression.
    compression: str = "log"
    pcen_time_ms: float = 400.0
    aug_prob: float = 0.5            # each step below is applied with this probability
    aug_speed: tuple[float, float] | None = (0.9, 1.1)     # resampling factor (pitch and tempo)
    aug_tempo: tuple[float, float] | None = (0.85, 1.15)   # overlap-add stretch, pitch kept
    aug_pitch: tuple[float, float] | None = (-3.0, 3.0)    # semitones, duration kept
    aug_shift_ms: float = 0.0                              # roll by up to this, either way
    aug_gain_db: tuple[float, float] | None = (-20.0, 6.0)  # random gain
    aug_snr_db: tuple[float, ...] = (15.0, 25.0, 35.0)     # white noise at one of these SNRs
    aug_time_masks: int = 2          # SpecAugment time masks on the log-mel spectrogram ...
    aug_time_width: int = 8          # ... each 1..this many frames wide
    aug_freq_masks: int = 2          # frequency masks ...
    aug_freq_width: int = 6          # ... each 1..this many mel bands wide
    aug_vtlp: tuple[float, float] | None = None  # vocal tract length perturbation: spectrum stretched by [low, high]
    aug_eq_db: float = 0.0           # random channel: a smooth gain curve within +-dB (rnnkit.data.audio_eq) ...
    aug_eq_points: int = 5           # ... through this many control points
    aug_mixup: float = 0.0  # Beta(a, a) of waveform mixup with soft targets (rnnkit.data.audio_mix); 0: off
    aug_vocoder: float = 0.0         # chance of a new voice source (audio_vocoder.lpc_resynthesize)
    aug_hiband_db: float = 0.0       # frication-band gain within +-dB (audio_hiband)
    # Test-time augmentation (rnnkit.data.audio_tta): the mean class probability over the clean features
    # and the first tta fixed perturbed copies (pitch, tempo, VTLP, speed, noise); 0: the clean features alone.
    tta: int = 0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise DataError(f"audio sample_rate must be positive, got {self.sample_rate}")
        if not MIN_RATE <= self.sample_rate <= MAX_RATE:
            raise DataError(f"audio sample_rate must be in {MIN_RATE}..{MAX_RATE} Hz, got {self.sample_rate}")
        if self.rate_mismatch not in ("resample", "refuse"):
            raise DataError(f"audio rate_mismatch must be 'resample' or 'refuse', got {self.rate_mismatch!r}")
        if self.stereo not in ("mix", "refuse"):
            raise DataError(f"audio stereo must be 'mix' or 'refuse', got {self.stereo!r}")
        if self.deltas not in (0, 1, 2):
            raise DataError(f"audio deltas must be 0, 1 or 2, got {self.deltas}")
        if not self.static and self.deltas == 0:
            raise DataError("audio static = false needs deltas >= 1 (otherwise no feature is left)")
        if not 0 <= self.n_mfcc <= self.n_mels:
            raise DataError(f"audio n_mfcc must be in 0..n_mels={self.n_mels}, got {self.n_mfcc}")
        if self.compression not in ("log", "pcen"):
            raise DataError(f"audio compression must be 'log' or 'pcen', got {self.compression!r}")
        if self.compression == "pcen" and self.floor_db:
            raise DataError("audio floor_db applies to compression = 'log' only; remove it or use 'log'")
        if not self.pcen_time_ms > 0:
            raise DataError(f"audio pcen_time_ms must be > 0, got {self.pcen_time_ms}")
        if self.floor_db is not None and not self.floor_db >= 0:
            raise DataError(f"audio floor_db must be >= 0 (0: no floor), got {self.floor_db}")
        if self.noise_floor_db is not None and not (math.isfinite(self.noise_floor_db) and self.noise_floor_db >= 0):
            raise DataError(f"audio noise_floor_db must be a finite SNR >= 0 dB (0: no floor), got {self.noise_floor_db}")
        if self.trim_db is not None and not self.trim_db >= 0:
            raise DataError(f"audio trim_db must be >= 0 (0: no trimming), got {self.trim_db}")
        for name in ("aug_speed", "aug_tempo"):
            pair = getattr(self, name)
            if pair and not (len(pair) == 2 and 0.5 <= pair[0] <= pair[1] <= 2.0):
                raise DataError(f"audio {name} must be [low, high] with 0.5 <= low <= high <= 2, got {list(pair)}")
        if self.aug_vtlp and not (len(self.aug_vtlp) == 2 and 0.7 <= self.aug_vtlp[0] <= self.aug_vtlp[1] <= 1.4):
            raise DataError(f"audio aug_vtlp must be [low, high] with 0.7 <= low <= high <= 1.4, got {list(self.aug_vtlp)}")
        for name in ("aug_pitch", "aug_gain_db"):
            pair = getattr(self, name)
            if pair and not (len(pair) == 2 and pair[0] <= pair[1]):
                raise DataError(f"audio {name} must be [low, high] with low <= high, got {list(pair)}")
        if self.aug_pitch and max(abs(v) for v in self.aug_pitch) > 12:
            raise DataError(f"audio aug_pitch must stay within -12..12 semitones, got {list(self.aug_pitch)}")
        check_eq(self.aug_eq_db, self.aug_eq_points)
        check_mixup(self.aug_mixup)
        check_hiband(self.aug_hiband_db)
        for name in ("aug_prob", "aug_vocoder"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise DataError(f"audio {name} must be in [0, 1], got {getattr(self, name)}")
        if not 0 <= self.tta <= TTA_MAX_VIEWS:
            raise DataError(f"audio tta must be in 0..{TTA_MAX_VIEWS} (views of rnnkit.data.audio_tta), got {self.tta}")
        for name in ("aug_shift_ms", "aug_time_masks", "aug_time_width", "aug_freq_masks", "aug_freq_width"):
            if getattr(self, name) < 0:
                raise DataError(f"audio {name} must be >= 0, got {getattr(self, name)}")

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        return max(1, int(round(self.sample_rate * self.hop_ms / 1000)))

    @property
    def n_fft(self) -> int:
        return 1 << max(0, (self.win_length - 1).bit_length())  # next power of two

    @property
    def n_features(self) -> int:
        base = self.n_mfcc if self.n_mfcc > 0 else self.n_mels
        return base * (int(self.static) + self.deltas)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_saved(cls, saved: dict) -> "AudioConfig":
        """The front end a model.json records; one saved before ``trim_db`` existed did not trim."""
        return cls(**{"trim_db": None, **{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}})


def hz_to_mel(f):
    """HTK mel scale: 2595 log10(1 + f/700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def vtlp_warp(f, alpha: float, nyquist: float, cut: float = 0.8):
    """Vocal tract length perturbation's frequency warp (Jaitly and Hinton, 2013).

    Piecewise linear, continuous and increasing, mapping [0, nyquist] onto itself::

        w(f) = alpha f                                            f <= f0
        w(f) = alpha f0 + (nyquist - alpha f0) (f - f0) / (nyquist - f0)   f > f0

    with f0 = cut * nyquist * min(alpha, 1) / alpha, so that alpha f0 <= cut * nyquist:
    the formants (below f0) move by the factor alpha, as in a vocal tract 1/alpha as long.
    """
    f = np.asarray(f, dtype=np.float64)
    f0 = cut * nyquist * min(alpha, 1.0) / alpha
    high = alpha * f0 + (nyquist - alpha * f0) * (f - f0) / (nyquist - f0)
    return np.where(f <= f0, alpha * f, high)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None, warp: float = 1.0) -> np.ndarray:
    """Triangular mel filters -> (n_mels, n_fft//2 + 1), peak 1 at each centre.

    ``warp`` != 1: each FFT bin's frequency f is first mapped to :func:`vtlp_warp` (f, warp),
    so the spectrum reaches the filters stretched by ``warp`` (VTLP augmentation).
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise DataError(f"mel filterbank needs 0 <= fmin < fmax <= {sample_rate / 2}, got fmin={fmin}, fmax={fmax}")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (n_mels+2,)
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)                       # (n_bins,)
    if warp != 1.0:
        bins = vtlp_warp(bins, warp, sample_rate / 2)                              # (n_bins,)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]      # (n_mels, 1)
    rising = (bins[None, :] - left) / (centre - left)                              # (n_mels, n_bins)
    falling = (right - bins[None, :]) / (right - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def power_spectrogram(x: np.ndarray, win_length: int, hop_length: int, n_fft: int) -> np.ndarray:
    """Hann-windowed |STFT|^2 -> (T, n_fft//2 + 1); shorter signals are zero-padded."""
    from scipy.signal import get_window

    if x.shape[0] < win_length:
        x = np.pad(x, (0, win_length - x.shape[0]))
    frames = np.lib.stride_tricks.sliding_window_view(x, win_length)[::hop_length]  # (T, W)
    window = get_window("hann", win_length, fftbins=True)                            # (W,)
    spec = np.fft.rfft(frames * window, n=n_fft, axis=1)                              # (T, n_fft//2+1)
    return spec.real**2 + spec.imag**2


def mel_energies(x: np.ndarray, cfg: AudioConfig, warp: float = 1.0) -> np.ndarray:
    """Mel filterbank energies -> (T, n_mels); ``warp``: the VTLP factor (:func:`vtlp_warp`)."""
    power = power_spectrogram(x, cfg.win_length, cfg.hop_length, cfg.n_fft)  # (T, n_bins)
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax, warp)  # (n_mels, n_bins)
    return power @ fb.T  # (T, n_mels)


def log_mel(x: np.ndarray, cfg: AudioConfig, warp: float = 1.0) -> np.ndarray:
    """Log mel energies -> (T, n_mels); ``warp``: the VTLP factor (:func:`vtlp_warp`)."""
    return np.log(np.maximum(mel_energies(x, cfg, warp), 1e-10))  # (T, n_mels)


def pcen(energies: np.ndarray, hop_s: float, time_s: float = 0.4, alpha: float = 0.98,
         delta: float = 2.0, r: float = 0.5, eps: float = 1e-6, scale: float = 2.0**31) -> np.ndarray:
    """Per-channel energy normalisation (Wang et al. 2017): (T, M) energies -> (T, M).

    With E = scale * energies (librosa's scaling of [-1, 1] signals) and a first-order
    smoother per band, started at the first frame::

        S_t  = (1 - s) S_{t-1} + s E_t,  S_0 = E_0,  s = (sqrt(1 + 4 b^2) - 1) / (2 b^2), b = time_s / hop_s
        P_t  = (E_t / (eps + S_t)^alpha + delta)^r - delta^r

    alpha near 1 divides out each band's recent loudness (a gain control per band, so a
    fixed gain or spectral tilt moves P little); the root r compresses what is left.
    """
    from scipy.signal import lfilter

    e = scale * np.asarray(energies, dtype=np.float64)
    b = time_s / hop_s
    s = (math.sqrt(1.0 + 4.0 * b * b) - 1.0) / (2.0 * b * b)
    smooth = lfilter([s], [1.0, s - 1.0], e, axis=0, zi=(1.0 - s) * e[:1])[0]  # (T, M)
    return (e / (eps + smooth) ** alpha + delta) ** r - delta**r


def mfcc(logmel: np.ndarray, n_mfcc: int) -> np.ndarray:
    """DCT-II (orthonormal) of log mel energies -> (T, n_mfcc)."""
    from scipy.fft import dct

    return dct(logmel, type=2, norm="ortho", axis=1)[:, :n_mfcc]


def add_deltas(feats: np.ndarray, order: int = 2, width: int = 2) -> np.ndarray:
    """Append deltas (and delta-deltas) along the feature axis: (T, F) -> (T, F*(1+order))."""
    from scipy.signal import savgol_filter

    out = [feats]
    for _ in range(order):
        out.append(savgol_filter(out[-1], 2 * width + 1, polyorder=1, deriv=1, axis=0, mode="nearest"))
    return np.concatenate(out, axis=1)


def normalize_utterance(feats: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Per-feature mean 0 and standard deviation 1 over time: (T, F) -> (T, F)."""
    mean = feats.mean(axis=0, keepdims=True)  # (1, F)
    std = feats.std(axis=0, keepdims=True)
    return (feats - mean) / (std + eps)


def trim_silence(x: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """Drop leading and trailing frames more than ``cfg.trim_db`` below the loudest frame.

    Frame energy e_t = 10 log10(mean(frame_t^2)) over the analysis frames (hop S); the
    kept span runs from the first to the last frame with e_t >= max(e) - trim_db, plus
    one hop either side. A signal with no such span (all zeros) is returned whole.
    """
    if not cfg.trim_db or x.shape[0] <= cfg.win_length:
        return x
    frames = np.lib.stride_tricks.sliding_window_view(x, cfg.win_length)[::cfg.hop_length]  # (T, W)
    energy = 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20)       # (T,)
    loud = np.flatnonzero(energy >= energy.max() - cfg.trim_db)
    if energy.max() <= -200.0 or loud.size == 0:
        return x
    start = max(0, (loud[0] - 1) * cfg.hop_length)
    stop = min(x.shape[0], (loud[-1] + 1) * cfg.hop_length + cfg.win_length)
    return x[start:stop]


def content_seed(x: np.ndarray) -> int:
    """A seed that is a function of the samples alone: the first 8 bytes of their BLAKE2b hash."""
    digest = hashlib.blake2b(np.ascontiguousarray(x, dtype=np.float32).tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def noise_floor(x: np.ndarray, cfg: AudioConfig, rng: np.random.Generator | None = None) -> np.ndarray:
    """Lay white noise ``cfg.noise_floor_db`` dB below x's power under x: (N,) -> (N,) float32.

    ``rng`` None (prediction): the noise comes from a generator seeded by
    :func:`content_seed` (x), so the same signal always gets the same floor. Off
    (``noise_floor_db`` None or 0) or an all-zero x: x itself, unchanged.
    """
    if not cfg.noise_floor_db:
        return x
    rng = np.random.default_rng(content_seed(x)) if rng is None else rng
    return add_noise(x, rng, float(cfg.noise_floor_db))


def features_from_signal(x: np.ndarray, cfg: AudioConfig, rng: np.random.Generator | None = None,
                         warp: float | None = None, floored: bool = False) -> np.ndarray:
    """Signal at ``cfg.sample_rate`` -> features (T, cfg.n_features), float32.

    With ``rng`` (training with augmentation), the mel filters are VTLP-warped by a factor
    drawn from ``cfg.aug_vtlp`` (:func:`vtlp_warp`) and the log-mel spectrogram gets the
    SpecAugment masks of ``cfg.aug_*`` (:func:`rnnkit.data.audio_augment.mask_spectrogram`),
    each with probability ``cfg.aug_prob``. ``warp``: a fixed VTLP factor instead (test-time
    augmentation, :mod:`rnnkit.data.audio_tta`); it takes the place of the drawn one.

    The noise floor (:func:`noise_floor`) is laid here on the trimmed signal when ``rng`` is
    None and ``floored`` False; with ``rng``, :func:`rnnkit.data.audio_augment.augment_signal`
    laid a random one; ``floored``: the caller laid it (the views of test-time augmentation).
    """
    x = trim_silence(x, cfg)
    if rng is None and not floored:
        x = noise_floor(x, cfg)
    fixed, warp = warp, 1.0
    if rng is not None and cfg.aug_vtlp and rng.random() < cfg.aug_prob:
        warp = float(rng.uniform(*cfg.aug_vtlp))
    if fixed is not None:
        warp = float(fixed)
    if cfg.compression == "pcen":
        feats = pcen(mel_energies(x, cfg, warp), cfg.hop_length / cfg.sample_rate, cfg.pcen_time_ms / 1000)
    else:
        feats = log_mel(x, cfg, warp)  # (T, n_mels)
    if cfg.floor_db and cfg.compression == "log":
        feats = np.maximum(feats, feats.max() - cfg.floor_db * math.log(10.0) / 10.0)  # dB -> natural log
    if rng is not None and (cfg.aug_time_masks or cfg.aug_freq_masks) and rng.random() < cfg.aug_prob:
        feats, _ = mask_spectrogram(feats, rng, cfg.aug_time_masks, cfg.aug_time_width,
                                    cfg.aug_freq_masks, cfg.aug_freq_width)
    if cfg.n_mfcc > 0:
        feats = mfcc(feats, cfg.n_mfcc)  # (T, n_mfcc)
    if cfg.deltas:
        base = feats.shape[1]
        feats = add_deltas(feats, cfg.deltas, cfg.delta_width)  # (T, base * (1 + deltas))
        if not cfg.static:
            feats = feats[:, base:]                              # (T, base * deltas)
    if cfg.normalize:
        feats = normalize_utterance(feats)
    return feats.astype(np.float32)


def wav_features(path: str | Path, cfg: AudioConfig | None = None) -> np.ndarray:
    """Read one WAV file and compute its features -> (T, F) float32."""
    cfg = cfg or AudioConfig()
    x, _ = read_wav(path, cfg.sample_rate, cfg.stereo, cfg.rate_mismatch)
    return features_from_signal(x, cfg)
