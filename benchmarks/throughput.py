"""Throughput, cache and memory benchmark for clip-fer; prints one table.

    python benchmarks/throughput.py                 # random ViT-B/32, 64 FER2013 images
    python benchmarks/throughput.py --uncached-grid # also the grid search without the cache
    python benchmarks/throughput.py --n 128 --model ViT-B/16
    python benchmarks/throughput.py --model open_clip:ViT-B-32 --throughput-only
    python benchmarks/throughput.py --model hf_clip:google/siglip-base-patch16-224 --throughput-only
    python benchmarks/throughput.py --compare       # side by side: peers vs clip-fer's precisions

``--model`` takes an OpenAI architecture, ``open_clip:ARCH`` (any open_clip
architecture whose tokenizer is the CLIP BPE), or one of the ``hf_clip:`` ids in
``HF_CONFIGS``: each is built from the family's real architecture config with
random weights, saved as a user would save it, and loaded by that name form.

Every figure comes from this one run, side by side on the same images: images/s of
a per-image loop written like the report's ``infer``, of ``predict`` at default
settings, and of each opt-in precision; the fp32 compute floor (the image tower's
FLOPs over the matrix-multiply rate measured here); GridSearchCV over the report's
nine configurations with and without the embedding cache; ``fit`` time; and peak
memory while predicting many images (in a subprocess, with a small model so that it
finishes in time). Weights are random: they do not change the cost. The default run
took 7 min 34 s at load average 5 to 7 and 10 min 20 s at about 20, and peaked at
4.9 GiB RSS (``/usr/bin/time``; ViT-B/32 held at three precisions), on 2 AMD EPYC
cores shared with other jobs. The grid without the cache (``--uncached-grid``) adds
about 9 predict passes (112 s in a run at load 5 to 7).

``--compare`` prints another table instead: the image tower of one ViT-B/32 in each
family (OpenAI ``clip``, open_clip, Hugging Face ``CLIPModel``) through its own
library's ``encode_image`` / ``get_image_features`` and through clip-fer at fp32,
int8 and bf16, and OpenAI's tower exported to ONNX Runtime at fp32 and dynamic int8
(when ``onnxruntime`` and ``onnx`` are installed), all on the same preprocessed
FER2013 batch, in interleaved rounds (best of each), with the CPU's name and
instruction sets and the load average printed beside it. "best fp32 peer" is the
fastest of the own-library and ONNX Runtime fp32 rows. On a shared machine only the
ratios within one run mean much. To imitate an AVX2-only CPU on an AVX-512 one, cap
torch's libraries' instruction sets (the CPU line then names the caps; ONNX Runtime
has no such switch, so its rows stay at the CPU's own):

    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 FBGEMM_ENABLE_INSTRUCTIONS=AVX2 \
        MKL_ENABLE_INSTRUCTIONS=AVX2 python benchmarks/throughput.py --compare
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.model_selection import GridSearchCV, KFold
from torch.utils.data import default_collate
from torch.utils.flop_counter import FlopCounterMode

import clip_fer
from clip_fer import PromptBank, SynonymFolder, ZeroShotEmotionClassifier, report_experiment_banks
from clip_fer.backends._loading import import_clip, parse_model_name

ROOT = Path(__file__).resolve().parents[1]
FER2013 = ROOT.parent / "shared" / "data" / "fer2013"
TINY = ROOT.parent / "shared" / "models" / "tiny-fer-clip.pt"

# OpenAI CLIP architectures: embed_dim, resolution, vision layers, vision width,
# patch, text width, text heads, text layers (from the released checkpoints' shapes).
ARCHITECTURES = {
    "ViT-B/32": (512, 224, 12, 768, 32, 512, 8, 12),
    "ViT-B/16": (512, 224, 12, 768, 16, 512, 8, 12),
    "ViT-L/14": (768, 224, 24, 1024, 14, 768, 12, 12),
}


def random_checkpoint(name, folder):
    clip = import_clip()
    embed, res, layers, width, patch, t_width, t_heads, t_layers = ARCHITECTURES[name]
    torch.manual_seed(0)
    model = clip.model.CLIP(embed, res, layers, width, patch, 77, 49408, t_width, t_heads, t_layers)
    path = Path(folder) / f"random-{name.replace('/', '-')}.pt"
    torch.save(model.state_dict(), path)
    return str(path)


# transformers ids -> (config class, its defaults are that model's architecture,
# image processor, matmul width and tokens for the floor). CLIPConfig() is
# clip-vit-base-patch32; SiglipConfig() is siglip-base-patch16-224.
HF_CONFIGS = {
    "openai/clip-vit-base-patch32": ("CLIP", 768, 50),
    "google/siglip-base-patch16-224": ("Siglip", 768, 196),
}


def _clip_bpe_files(folder):
    """vocab.json and merges.txt of CLIP's BPE, from the vocabulary ``clip`` ships."""
    import gzip

    import clip.simple_tokenizer as simple

    with gzip.open(simple.default_bpe()) as bpe:
        merges = bpe.read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    chars = list(simple.bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return str(folder / "vocab.json"), str(folder / "merges.txt")


def _sentencepiece_file(folder, sentences):
    """A small SentencePiece model trained on the benchmark's sentences (SigLIP's
    own vocabulary cannot be downloaded here; only the embedding table's rows differ)."""
    import io

    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences * 4),
        model_writer=buffer,
        vocab_size=200,
        hard_vocab_limit=False,
        unk_id=2,
        eos_id=1,
        pad_id=0,
        bos_id=-1,
        minloglevel=2,
    )
    path = folder / "spiece.model"
    path.write_bytes(buffer.getvalue())
    return str(path)


def random_backbone(name, folder):
    """``(model name for clip-fer, matmul width, tokens)`` of a random-weight model."""
    family, spec = parse_model_name(name)
    folder = Path(folder)
    torch.manual_seed(0)
    if family == "openai":
        res, width, patch = ARCHITECTURES[spec][1], ARCHITECTURES[spec][3], ARCHITECTURES[spec][4]
        return random_checkpoint(spec, folder), width, (res // patch) ** 2 + 1
    if family == "open_clip":
        import open_clip

        model = open_clip.create_model(spec)
        path = folder / f"random-{spec}.pt"
        torch.save(model.state_dict(), path)
        visual = model.visual
        width = visual.transformer.width if hasattr(visual, "transformer") else 768
        tokens = visual.grid_size[0] * visual.grid_size[1] + 1 if hasattr(visual, "grid_size") else 50
        return f"open_clip:{spec}/{path}", width, tokens
    import transformers

    kind, width, tokens = HF_CONFIGS[spec]
    out = folder / spec.replace("/", "--")
    out.mkdir(parents=True)
    if kind == "CLIP":
        vocab, merges = _clip_bpe_files(out)
        tokenizer = transformers.CLIPTokenizer(vocab=vocab, merges=merges, pad_token="<|endoftext|>")
    else:
        sentences = list(PromptBank.report_best().fit().sentences_) + list(PromptBank().fit().sentences_)
        tokenizer = transformers.SiglipTokenizer(
            vocab_file=_sentencepiece_file(out, sentences), model_max_length=64
        )
    config = getattr(transformers, f"{kind}Config")()
    getattr(transformers, f"{kind}Model")(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    getattr(transformers, f"{kind}ImageProcessor")().save_pretrained(out)
    return f"hf_clip:{out}", width, tokens


def face_paths(n, split="public_test"):
    paths = sorted((FER2013 / split).glob("*/*.jpg"))
    if len(paths) >= n:
        step = len(paths) // n
        return [str(p) for p in paths[::step][:n]], "FER2013 " + split
    # Without ../shared: synthetic 48x48 faces written to a temporary folder.
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        path = folder / f"face{i}.png"
        Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(path)
        out.append(str(path))
    return out, "synthetic 48x48"


def timed(fn, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def report_loop(checkpoint, paths, bank):
    """One image at a time, text features already encoded, as the report's infer.

    OpenAI checkpoints go through ``clip.load`` as the report did; other families
    through their own model, preprocessing and tokenizer, one image per call.
    """
    if parse_model_name(checkpoint)[0] != "openai":
        return _family_loop(checkpoint, paths, bank)
    clip = import_clip()
    model, preprocess = clip.load(checkpoint, device="cpu", jit=False)
    model.eval()
    with torch.no_grad():
        text = model.encode_text(clip.tokenize(list(bank.fit().sentences_))).float()
        text /= text.norm(dim=-1, keepdim=True)

    def run():
        for path in paths:
            image = preprocess(Image.open(path)).unsqueeze(0)
            with torch.no_grad():
                features = model.encode_image(image).float()
            features /= features.norm(dim=-1, keepdim=True)
            (100.0 * features @ text.T).numpy()

    return run


def _family_loop(name, paths, bank):
    loaded = clip_fer.load_model(name, device="cpu")
    with torch.no_grad():
        text = loaded.encode_text(list(bank.fit().sentences_)).float()
        text /= text.norm(dim=-1, keepdim=True)

    def run():
        for path in paths:
            image = default_collate([loaded.preprocess(Image.open(path).convert("RGB"))])
            with torch.no_grad():
                features = loaded.encode_image(image).float()
            features /= features.norm(dim=-1, keepdim=True)
            (loaded.logit_scale * features @ text.T).numpy()

    return run


def image_tower_flops(checkpoint):
    loaded = clip_fer.load_model(checkpoint, device="cpu")
    one = default_collate([loaded.preprocess(Image.new("RGB", (48, 48)))])
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        loaded.encode_image(one)
    return counter.get_total_flops()


def matmul_rate(width, tokens, batch):
    """fp32 FLOP/s of the MLP-shaped product (batch*tokens, width) @ (width, 4*width)."""
    a, b = torch.randn(batch * tokens, width), torch.randn(width, 4 * width)
    a @ b
    reps = 10
    seconds, _ = timed(lambda: [a @ b for _ in range(reps)], repeat=3)
    return reps * 2 * a.shape[0] * width * 4 * width / seconds


def _proc_status_bytes(field):
    """VmHWM (peak RSS) or VmRSS of this process, from /proc (Linux).

    ``getrusage``'s ``ru_maxrss`` is not used: Linux carries it across ``exec``, so
    a child started by a big parent would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(model, n):
    """Run in a subprocess: peak RSS growth while predicting n images."""
    paths = sorted(str(p) for p in (FER2013 / "train").glob("*/*.jpg"))[:n]
    if len(paths) < n:
        paths = (paths * (n // max(len(paths), 1) + 1))[:n]
    gc.collect()
    base = _proc_status_bytes("VmHWM")  # torch imported, no model yet
    clf = ZeroShotEmotionClassifier(model=model, batch_size=64).fit()
    clf.predict(paths[:64])  # warm: model, allocator, first batch
    warm = _proc_status_bytes("VmHWM")
    clf.predict(paths)
    peak = _proc_status_bytes("VmHWM")
    weights = sum(p.numel() * p.element_size() for p in clf._loaded_model().model.parameters())
    print(json.dumps({"base": base, "warm": warm, "peak": peak, "weights": weights, "n": len(paths)}))


def _peer_towers(folder):
    """``{family: (clip-fer name, the family library's own image-encoding call)}``
    for one random-weight ViT-B/32 per family, saved as a user would save it."""
    import open_clip
    import transformers

    from clip_fer.backends.hf import _features

    clip = import_clip()
    towers = {}
    path = random_checkpoint("ViT-B/32", folder)
    model = clip.model.build_model(torch.load(path, map_location="cpu")).float().eval()
    towers["openai"] = (path, model.encode_image)
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32").eval()
    path = Path(folder) / "random-open_clip-ViT-B-32.pt"
    torch.save(model.state_dict(), path)
    towers["open_clip"] = (f"open_clip:ViT-B-32/{path}", model.encode_image)
    name = random_backbone("hf_clip:openai/clip-vit-base-patch32", folder)[0]
    model = transformers.CLIPModel.from_pretrained(name.split(":", 1)[1]).eval()
    # transformers 5 returns a pooled output, 4 a tensor
    towers["hf_clip"] = (
        name,
        lambda pixels, model=model: _features(model.get_image_features(pixel_values=pixels)),
    )
    return towers


def _onnx_runtime_runs(model, pixels, folder):
    """``{path: run}`` for OpenAI's image tower exported to ONNX and run by ONNX Runtime
    at fp32 and dynamic int8 (its own ``quantize_dynamic``), with torch's thread count;
    empty when onnxruntime or onnx is not installed (``pip install onnxruntime onnx``)."""
    try:
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        print("onnxruntime (and onnx) not installed: no ONNX Runtime rows", flush=True)
        return {}
    fp32, int8 = Path(folder) / "visual.onnx", Path(folder) / "visual-int8.onnx"
    torch.onnx.export(
        model.visual,
        (pixels[:1],),
        fp32,
        input_names=["pixels"],
        dynamic_axes={"pixels": {0: "batch"}},
        dynamo=False,
    )
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    runs = {}
    for path, file in (("ONNX Runtime fp32", fp32), ("ONNX Runtime dynamic int8", int8)):
        session = onnxruntime.InferenceSession(file, options, providers=["CPUExecutionProvider"])
        feed = {"pixels": pixels.numpy()}
        runs[path] = lambda session=session, feed=feed: torch.from_numpy(session.run(None, feed)[0])
    return runs


def compare(args):
    """Side by side, interleaved rounds: each family's own library vs clip-fer."""
    import warnings

    from clip_fer.backends._base import normalized
    from clip_fer.backends._cpu import cpu_summary, isa_limits

    folder = tempfile.mkdtemp()
    paths, source = face_paths(args.n)
    towers = _peer_towers(folder)
    preprocess = clip_fer.load_model(towers["openai"][0], device="cpu").preprocess
    pixels = torch.stack([preprocess(Image.open(p).convert("RGB")) for p in paths])
    runs, notes = {}, {}
    for family, (name, own) in towers.items():
        runs[(family, "own library, fp32")] = lambda own=own: own(pixels)
        if family == "openai":
            for path, run in _onnx_runtime_runs(own.__self__, pixels, folder).items():
                runs[(family, path)] = run
                if isa_limits():
                    notes[(family, path)] = "not capped: ONNX Runtime picks its kernels by CPUID"
        for precision in ("fp32", "int8", "bf16"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                loaded = clip_fer.load_model(name, device="cpu", precision=precision)
            warned = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
            if warned:
                notes[(family, f"clip-fer {precision}")] = "warned: " + warned[0][:60] + "..."

            def run(loaded=loaded):
                with loaded.autocast():
                    return torch.from_numpy(normalized(loaded.encode_image(pixels)))

            runs[(family, f"clip-fer {precision}")] = run
    print(
        f"CPU: {cpu_summary()}; {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        flush=True,
    )
    print(
        f"{len(paths)} {source} images, one batch; {args.rounds} interleaved rounds, best of each; "
        f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    best, outputs = dict.fromkeys(runs, float("inf")), {}
    keys = list(runs)
    with torch.inference_mode():
        for key in keys:  # warm: first-call allocations, oneDNN primitives
            runs[key]()
        for round_ in range(args.rounds):
            for key in keys[round_ % len(keys) :] + keys[: round_ % len(keys)]:
                start = time.perf_counter()
                out = runs[key]()
                best[key] = min(best[key], time.perf_counter() - start)
                outputs.setdefault(key, out.float())
    load_after = " ".join(f"{x:.1f}" for x in os.getloadavg())
    peers = [key for key in keys if key[1] in ("own library, fp32", "ONNX Runtime fp32")]
    peer_best = max(len(paths) / best[key] for key in peers)
    print(f"load average after: {load_after}\n")
    print("| family | path | images/s | vs clip-fer fp32 | vs best fp32 peer | min cosine vs fp32 | notes |")
    print("|---|---|---:|---:|---:|---:|---|")
    for family, path in keys:
        ips = len(paths) / best[(family, path)]
        fp32 = len(paths) / best[(family, "clip-fer fp32")]
        reference = torch.nn.functional.normalize(outputs[(family, "clip-fer fp32")], dim=-1)
        cosine = (torch.nn.functional.normalize(outputs[(family, path)], dim=-1) * reference).sum(-1).min()
        note = notes.get((family, path), "")
        print(
            f"| {family} | {path} | {ips:.1f} | {ips / fp32:.2f} | {ips / peer_best:.2f} | "
            f"{float(cosine):.4f} | {note} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default="ViT-B/32",
        help=(
            "architecture, random weights: an OpenAI name ("
            + ", ".join(ARCHITECTURES)
            + "), open_clip:ARCH, or hf_clip: with one of "
            + ", ".join(HF_CONFIGS)
        ),
    )
    parser.add_argument(
        "--throughput-only",
        action="store_true",
        help="only the images/s rows (no grid search, fit or memory rows)",
    )
    parser.add_argument("--n", type=int, default=64, help="images for the throughput rows")
    parser.add_argument("--grid-n", type=int, default=100, help="images for the grid-search rows")
    parser.add_argument("--memory-n", type=int, default=10_000, help="images for the memory row")
    parser.add_argument(
        "--memory-model",
        default=str(TINY) if TINY.is_file() else None,
        help="checkpoint for the memory row (default: the small FER2013 model)",
    )
    parser.add_argument(
        "--uncached-grid",
        action="store_true",
        help="also time the grid search without the embedding cache (about 9x one predict pass: slow)",
    )
    parser.add_argument(
        "--compare", action="store_true", help="only the side-by-side table of peers and precisions"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of --compare")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child[0], int(args.memory_child[1]))
    if args.compare:
        return compare(args)

    rows = []
    tmp = tempfile.mkdtemp()
    checkpoint, width, tokens = random_backbone(args.model, tmp)
    paths, source = face_paths(args.n)
    bank = PromptBank.report_best()
    from clip_fer.backends._cpu import cpu_summary

    print(
        f"clip-fer {clip_fer.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} cores; {args.model} random weights; {len(paths)} {source} images\n"
        f"CPU: {cpu_summary()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )

    flops = image_tower_flops(checkpoint)
    rate = matmul_rate(width, tokens, 32)
    floor = rate / flops
    rows.append(("fp32 compute floor", floor, f"{flops / 1e9:.2f} GFLOP/image at {rate / 1e9:.0f} GFLOP/s"))

    loop = report_loop(checkpoint, paths, bank)
    seconds, _ = timed(loop)
    loop_ips = len(paths) / seconds
    rows.append(("per-image loop (report's infer)", loop_ips, ""))

    fp32 = ZeroShotEmotionClassifier(model=checkpoint, prompt_bank=bank).fit()
    clip_fer.clear_embedding_cache()
    seconds, reference = timed(lambda: fp32.predict(paths))
    rows.append(("predict, default settings (fp32)", len(paths) / seconds, ""))
    for precision in ("bf16", "int8"):
        clf = ZeroShotEmotionClassifier(model=checkpoint, prompt_bank=bank, precision=precision).fit()
        clf.predict(paths[:4])  # load and convert outside the timing
        clip_fer.clear_embedding_cache()
        seconds, labels = timed(lambda: clf.predict(paths))  # noqa: B023 (called at once)
        fast_embeddings = clf.embed(paths)
        cosine = (fast_embeddings * fp32.embed(paths)).sum(axis=1).min()
        rows.append(
            (
                f"predict, precision='{precision}'",
                len(paths) / seconds,
                f"top-1 agreement with fp32 {np.mean(labels == reference):.3f}, min cosine {cosine:.4f}",
            )
        )
        if TINY.is_file() and not args.throughput_only:
            tiny32 = ZeroShotEmotionClassifier(model=str(TINY), cache=False, batch_size=64).fit()
            tiny = ZeroShotEmotionClassifier(
                model=str(TINY), cache=False, batch_size=64, precision=precision
            ).fit()
            many, _ = face_paths(1000)
            agree = np.mean(tiny.predict(many) == tiny32.predict(many))
            rows[-1] = rows[-1][:2] + (
                rows[-1][2] + f"; {agree:.3f} with the FER2013 checkpoint on 1000 images",
            )

    if args.throughput_only:
        return print_table(rows, floor, loop_ips)
    grid_paths, _ = face_paths(args.grid_n)
    y = np.array([Path(p).parent.name for p in grid_paths], dtype=object)
    if source.startswith("synthetic"):
        y = np.array(["happy", "sad", "angry"] * (len(grid_paths) // 3 + 1), dtype=object)[: len(grid_paths)]
    grid = {"prompt_bank": list(report_experiment_banks().values())}
    clip_fer.clear_embedding_cache()
    one_pass, _ = timed(lambda: fp32.predict(grid_paths))
    for cache in (True, False):
        if not cache and not args.uncached_grid:
            continue
        clip_fer.clear_embedding_cache()
        search = GridSearchCV(
            ZeroShotEmotionClassifier(model=checkpoint, cache=cache, synonym_folder=SynonymFolder()),
            grid,
            cv=KFold(5, shuffle=True, random_state=0),
        )
        seconds, _ = timed(lambda: search.fit(grid_paths, y))  # noqa: B023 (called at once)
        rows.append(
            (
                f"GridSearchCV 9 configs x 5 folds, cache={cache}",
                seconds / one_pass,
                f"x one predict pass on {len(grid_paths)} images ({seconds:.1f} s vs {one_pass:.1f} s)",
            )
        )

    def fit_uncached():
        clip_fer.clear_embedding_cache()  # sentences too; the model stays loaded
        return ZeroShotEmotionClassifier(model=checkpoint, prompt_bank=bank).fit()

    fit_seconds, _ = timed(fit_uncached, repeat=3)
    rows.append(
        ("fit, report's best bank (63 sentences), model loaded", fit_seconds, "seconds, sentences encoded")
    )
    fit_seconds, _ = timed(
        lambda: ZeroShotEmotionClassifier(model=checkpoint, prompt_bank=bank).fit(), repeat=3
    )
    rows.append(("fit again, same bank", fit_seconds, "seconds, sentences from the cache"))

    if args.memory_model:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", args.memory_model, str(args.memory_n)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        mem = json.loads(out.strip().splitlines()[-1])
        over_model = (mem["peak"] - mem["base"] - mem["weights"]) / 2**20
        rows.append(
            (
                f"peak RSS predicting {mem['n']} images, over the model's size",
                over_model,
                f"MiB: peak {mem['peak'] / 2**20:.0f} MiB - {mem['base'] / 2**20:.0f} MiB before loading - "
                f"weights {mem['weights'] / 2**20:.0f} MiB ({Path(args.memory_model).name}); "
                f"growth after the first batch {(mem['peak'] - mem['warm']) / 2**20:.0f} MiB",
            )
        )

    print_table(rows, floor, loop_ips)


def print_table(rows, floor, loop_ips):
    print()
    print("| measure | value | vs floor | vs per-image loop | notes |")
    print("|---|---:|---:|---:|---|")
    for name, value, note in rows:
        if "images/s" in name or name.startswith(("per-image", "predict", "fp32 compute")):
            print(
                f"| {name} (images/s) | {value:.2f} | {value / floor:.2f} | {value / loop_ips:.2f} | {note} |"
            )
        else:
            print(f"| {name} | {value:.2f} | | | {note} |")


if __name__ == "__main__":
    main()
