"""Generation 5 on one GPU, in PyTorch, inside a fixed time box.

1. Teachers: three larger networks (two VGG-style, one ResNet-18-style) trained side by side from scratch on
   FER2013's training split, SGD with Nesterov momentum and a cosine learning rate that reaches zero when the
   teacher phase's time is up (the schedule follows the clock, not an epoch count, so the run ends on time
   whatever the GPU's speed). Augmentation on the GPU: the same recipe as ``emocare.lab.train.augment``.
2. Students: emocare's small network (the exact layers of ``emocare.lab.train.build_model``), started from the
   shipped network's weights, trained by function matching: every augmented view a student sees is read by
   the teachers at that moment, and the student learns their averaged probabilities (mixed with the label).
3. Out: each student's weights in Keras' order (``build_model(...).set_weights``), the teachers' and students'
   val logits, a log.

Run (on a GPU machine with PyTorch and OpenCV; not an emocare dependency, so this script lives beside the tests):
    python3 tools/gpu_generation5.py DEADLINE_S [--smoke]
It reads ``.fer/fer.tar.xz`` (``tar cJf .fer/fer.tar.xz -C ../shared/data/fer2013 train val``) and
``.fer/w/soup.npz`` (the shipped network's weights, ``np.savez(path, *build_model().get_weights())`` after loading
them), writes to ``$OUT``. ``--smoke``: a tiny run on the CPU that checks the whole path. The second device run,
with two of these teachers, is ``tools/gpu_generation5_students.py``. Figures: docs/model-card.md, generation 5.
"""
import json
import math
import os
import subprocess
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

T0 = time.time()
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
OUT = os.environ.get("OUT", "/tmp/gpu5out")
WORK = os.environ.get("GPU5_WORK", "/tmp/gpu5")
SMOKE = "--smoke" in sys.argv
DEV = "cuda" if torch.cuda.is_available() else "cpu"
os.makedirs(OUT, exist_ok=True)
os.makedirs(WORK, exist_ok=True)


def log(msg, who="main"):
    line = f"[{time.time() - T0:6.1f} s] {who}: {msg}"
    print(line, flush=True)
    with open(f"{OUT}/log.txt", "a") as f:
        f.write(line + "\n")


# ---------------------------------------------------------------- data
def load_data():
    """(x_train uint8 N,48,48; y_train; x_val; y_val) from the carried tar of FER2013's folders."""
    cache = f"{WORK}/data.npz"
    if os.path.exists(cache):
        d = np.load(cache)
        return d["xt"], d["yt"], d["xv"], d["yv"]
    import cv2

    xs = {"train": [], "val": []}
    ys = {"train": [], "val": []}
    with tarfile.open(".fer/fer.tar.xz") as tar:
        for m in tar:
            parts = m.name.split("/")
            if not m.isfile() or len(parts) != 3 or parts[1] not in EMOTIONS:
                continue
            img = cv2.imdecode(np.frombuffer(tar.extractfile(m).read(), np.uint8), cv2.IMREAD_GRAYSCALE)
            if img is None:
                continue
            if img.shape != (48, 48):
                img = cv2.resize(img, (48, 48), interpolation=cv2.INTER_AREA)
            xs[parts[0]].append(img)
            ys[parts[0]].append(EMOTIONS.index(parts[1]))
    order = {k: np.argsort(np.asarray(ys[k]), kind="stable") for k in xs}  # deterministic whatever the tar order
    out = [np.stack(xs[k])[order[k]] for k in ("train", "val")]
    lab = [np.asarray(ys[k], np.int64)[order[k]] for k in ("train", "val")]
    np.savez(cache, xt=out[0], yt=lab[0], xv=out[1], yv=lab[1])
    return out[0], lab[0], out[1], lab[1]


def standardise(x_u8):
    """crops.preprocess on a batch: zero mean, unit contrast (std floored at 5% of 255)."""
    x = x_u8.float()
    mean = x.mean(dim=(1, 2), keepdim=True)
    std = x.var(dim=(1, 2), keepdim=True, unbiased=False).sqrt().clamp_min(0.05 * 255.0)
    return ((x - mean) / std).unsqueeze(1)


def augment(x, gen):
    """emocare.lab.train.augment on the GPU: mirror half; turn up to ±18°, zoom ±10%, shift ±10% (reflected edges);
    erase a 6-22 px rectangle (to 0, the mean) on half."""
    n = x.shape[0]
    dev = x.device
    r = lambda *s: torch.rand(*s, generator=gen, device=dev)  # noqa: E731
    flip = r(n) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    ang = (r(n) * 36 - 18) * math.pi / 180
    scale = 1 + (r(n) * 0.2 - 0.1)
    shift = (r(n, 2) * 0.2 - 0.1) * 2  # in normalised units (-1..1 spans the face)
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, -(cos * shift[:, 0] - sin * shift[:, 1])], 1),
                         torch.stack([sin, cos, -(sin * shift[:, 0] + cos * shift[:, 1])], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    erase = r(n) < 0.5
    size = r(n, 2) * 16 + 6
    centre = r(n, 2) * 48
    idx = torch.arange(48, device=dev, dtype=torch.float32)
    y0, y1 = (centre[:, 0] - size[:, 0] / 2).clamp_min(0).floor(), (centre[:, 0] + size[:, 0] / 2).clamp_min(0).floor()
    x0, x1 = (centre[:, 1] - size[:, 1] / 2).clamp_min(0).floor(), (centre[:, 1] + size[:, 1] / 2).clamp_min(0).floor()
    rows = (idx[None] >= y0[:, None]) & (idx[None] < y1[:, None])
    cols = (idx[None] >= x0[:, None]) & (idx[None] < x1[:, None])
    mask = rows[:, :, None] & cols[:, None, :] & erase[:, None, None]
    return x.masked_fill(mask[:, None], 0.0)


# ---------------------------------------------------------------- networks
def bn(c, keras=False):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01) if keras else nn.BatchNorm2d(c)


class VGG(nn.Module):
    def __init__(self, cfg=(64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M"), drop=0.3):
        super().__init__()
        layers, c = [], 1
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1, bias=False), bn(v), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(drop)
        self.fc = nn.Linear(c, 7)

    def forward(self, x):
        return self.fc(self.drop(self.features(x).mean(dim=(2, 3))))


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = bn(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = bn(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), bn(cout))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)), inplace=True)))
        return F.relu(y + (x if self.short is None else self.short(x)), inplace=True)


class ResNet18(nn.Module):
    def __init__(self, widths=(64, 128, 256, 512), drop=0.3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), bn(widths[0]), nn.ReLU(inplace=True))
        blocks, c = [], widths[0]
        for i, w in enumerate(widths):
            blocks += [Basic(c, w, 1 if i == 0 else 2), Basic(w, w, 1)]
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.drop = nn.Dropout(drop)
        self.fc = nn.Linear(c, 7)

    def forward(self, x):
        return self.fc(self.drop(self.blocks(self.stem(x)).mean(dim=(2, 3))))


class Small(nn.Module):
    """emocare.lab.train.build_model(arch="small"), layer for layer (Keras padding and batch-norm constants)."""
    SPEC = ((64, 2, True), (128, 3, True), (256, 3, True), (512, 1, False))

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.stem_bn = bn(32, keras=True)
        self.blocks = nn.ModuleList()
        c = 32
        for width, convs, pool in self.SPEC:
            seps = nn.ModuleList()
            for k in range(convs):
                cin = c if k == 0 else width
                seps.append(nn.ModuleList([nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
                                           nn.Conv2d(cin, width, 1, bias=False), bn(width, keras=True)]))
            short = nn.ModuleList([nn.Conv2d(c, width, 1, stride=2 if pool else 1, bias=False), bn(width, keras=True)])
            self.blocks.append(nn.ModuleDict({"seps": seps, "short": short}))
            c = width
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(512, 7)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.stem_bn(self.stem(x))), 2)
        for (width, convs, pool), blk in zip(self.SPEC, self.blocks):
            s = blk["short"][1](blk["short"][0](x))
            for dw, pw, b in blk["seps"]:
                x = F.relu(b(pw(dw(x))))
            if pool:  # Keras MaxPooling2D(3, 2, "same"): the one padded row and column at the end
                x = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 3, 2)
            x = x + s
        return self.fc(self.drop(x.mean(dim=(2, 3))))

    def keras_layers(self):
        """(kind, module) in the order of ``build_model(...).get_weights()``."""
        yield "conv", self.stem
        yield "bn", self.stem_bn
        for blk in self.blocks:
            for dw, pw, b in blk["seps"]:
                yield "sep", (dw, pw)
                yield "bn", b
            yield "conv", blk["short"][0]
            yield "bn", blk["short"][1]
        yield "dense", self.fc


def to_keras(net: Small) -> list:
    out = []
    for kind, m in net.keras_layers():
        if kind == "conv":
            out.append(m.weight.detach().cpu().numpy().transpose(2, 3, 1, 0))
        elif kind == "sep":
            dw, pw = m
            out.append(dw.weight.detach().cpu().numpy().transpose(2, 3, 0, 1))
            out.append(pw.weight.detach().cpu().numpy().transpose(2, 3, 1, 0))
        elif kind == "bn":
            out += [t.detach().cpu().numpy() for t in (m.weight, m.bias, m.running_mean, m.running_var)]
        else:
            out += [m.weight.detach().cpu().numpy().T, m.bias.detach().cpu().numpy()]
    return [np.ascontiguousarray(a, dtype=np.float32) for a in out]


def from_keras(net: Small, weights: list) -> Small:
    it = iter(weights)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    with torch.no_grad():
        for kind, m in net.keras_layers():
            if kind == "conv":
                m.weight.copy_(t(next(it).transpose(3, 2, 0, 1)))
            elif kind == "sep":
                dw, pw = m
                dw.weight.copy_(t(next(it).transpose(2, 3, 0, 1)))
                pw.weight.copy_(t(next(it).transpose(3, 2, 0, 1)))
            elif kind == "bn":
                for p in (m.weight, m.bias, m.running_mean, m.running_var):
                    p.copy_(t(next(it)))
            else:
                m.weight.copy_(t(next(it).T))
                m.bias.copy_(t(next(it)))
    assert next(it, None) is None, "weights left over"
    return net


TEACHERS = {"vgg_a": lambda: VGG(), "resnet": lambda: ResNet18((48, 96, 192, 384)), "vgg_b": lambda: VGG()}
if SMOKE:
    TEACHERS = {"vgg_a": lambda: VGG((16, "M", 32, "M")), "resnet": lambda: ResNet18((8, 16, 16, 16))}


# ---------------------------------------------------------------- helpers
def autocast():
    return torch.autocast("cuda", dtype=torch.bfloat16) if DEV == "cuda" else torch.autocast("cpu", enabled=False)


@torch.no_grad()
def predict(nets, xv, batch=1024):
    """Logits of each net on standardised val faces, each face averaged with its mirror image: (len(nets), N, 7),
    and without the mirror image."""
    both, plain = [], []
    for net in nets:
        net.eval()
        a, b = [], []
        for i in range(0, len(xv), batch):
            x = xv[i:i + batch]
            with autocast():
                lo = net(x).float()
                lf = net(x.flip(3)).float()
            a.append((lo + lf) / 2)
            b.append(lo)
        both.append(torch.cat(a))
        plain.append(torch.cat(b))
    return torch.stack(both), torch.stack(plain)


def acc(logits, y):
    return float((logits.argmax(-1) == y).float().mean())


def summary(logits, y):
    """accuracy, balanced accuracy, neutral read as a negative emotion."""
    pred = logits.argmax(-1)
    rec = [float((pred[y == k] == k).float().mean()) for k in range(7)]
    neu = pred[y == 6]
    neg = float(sum((neu == k).float().mean() for k in (0, 1, 2, 4)))
    return {"acc": round(acc(logits, y), 4), "bal": round(sum(rec) / 7, 4), "n2neg": round(neg, 4),
            "fear": round(rec[2], 3), "sad": round(rec[4], 3)}


def schedule(p, warm=0.03):
    return p / warm if p < warm else 0.5 * (1 + math.cos(math.pi * min(1.0, (p - warm) / (1 - warm))))


def on_device(seed):
    """The seeded process's faces on the device, standardised: (x_train, y_train, x_val, y_val, y_val as NumPy)."""
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = True
    xt, yt, xv, yv = load_data()
    if SMOKE:
        xt, yt = xt[::200], yt[::200]
    return (standardise(torch.from_numpy(xt).to(DEV)), torch.from_numpy(yt).to(DEV),
            standardise(torch.from_numpy(xv).to(DEV)), torch.from_numpy(yv).to(DEV), yv)


def views(xt, gen, bs, start, end):
    """One epoch of augmented batches, (progress through the time box 0..1, indices, views); it stops early when
    the time is up (the caller then asks ``time_up``)."""
    perm = torch.randperm(len(xt), generator=gen, device=DEV)
    for i in range(0, len(xt) - bs + 1, bs):
        p = (time.time() - start) / (end - start)
        if p >= 1:
            return
        idx = perm[i:i + bs]
        yield p, idx, augment(xt[idx], gen).contiguous(memory_format=torch.channels_last)


def time_up(start, end):
    return time.time() >= end


# ---------------------------------------------------------------- phase 1: one teacher (own process)
def teacher(name, end, seed):
    xt, yt, xv, yv, _ = on_device(seed)
    net = TEACHERS[name]().to(DEV).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    gen = torch.Generator(device=DEV).manual_seed(seed)
    bs, start, step, epoch = 128, time.time(), 0, 0
    done = False
    while not done:
        net.train()
        tot = 0.0
        for p, idx, x in views(xt, gen, bs, start, end):
            for g in opt.param_groups:
                g["lr"] = 0.05 * schedule(p)
            with autocast():
                loss = F.cross_entropy(net(x).float(), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % 50 == 0:
                tot = loss.item()
        done = time_up(start, end)
        epoch += 1
        if epoch % 10 == 0 or done:
            both, _ = predict([net], xv)
            log(f"epoch {epoch} step {step} loss {tot:.3f} lr {opt.param_groups[0]['lr']:.4f} val "
                f"{summary(both[0], yv)}", name)
    torch.save(net.state_dict(), f"{WORK}/{name}.pt")
    torch.save({k: v.half() if v.dtype.is_floating_point else v for k, v in net.state_dict().items()},
               f"{OUT}/teacher_{name}.pt")
    log(f"saved after {epoch} epochs, {step} steps, {time.time() - start:.0f} s", name)


# ---------------------------------------------------------------- phase 2: students (this process)
def students(end, teachers_done):
    xt, yt, xv_t, yv_t, yv = on_device(5)
    tnets = []
    for name in teachers_done:
        net = TEACHERS[name]()
        net.load_state_dict(torch.load(f"{WORK}/{name}.pt", map_location="cpu"))
        tnets.append(net.to(DEV).to(memory_format=torch.channels_last).eval())
    results = {}
    if tnets:
        both, plain = predict(tnets, xv_t)
        for name, b, pl in zip(teachers_done, both, plain):
            results[name] = {"mirror": summary(b, yv_t), "plain": summary(pl, yv_t)}
        results["teachers"] = summary(both.log_softmax(-1).exp().mean(0).log(), yv_t)
        np.savez_compressed(f"{OUT}/teacher_val.npz", **{n: b.cpu().numpy() for n, b in zip(teachers_done, both)},
                            y=yv)
        log(f"teachers on val: {json.dumps(results)}")
    soup = np.load(".fer/w/soup.npz")
    soup = [soup[f"arr_{i}"] for i in range(len(soup.files))]
    plans = [("s51", 51, 0.8, 1e-3), ("s52", 52, 0.9, 2e-3)]
    nets, opts, gens, best, ema = [], [], [], [], []
    for name, seed, mix, lr in plans:
        net = from_keras(Small(), soup).to(DEV).to(memory_format=torch.channels_last)
        nets.append(net)
        opts.append(torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.02))
        gens.append(torch.Generator(device=DEV).manual_seed(seed))
        e = from_keras(Small(), soup).to(DEV).to(memory_format=torch.channels_last)
        ema.append(e)
        best.append({"acc": -1.0})
    start_acc = summary(predict([nets[0]], xv_t)[1][0], yv_t)
    log(f"students start from the shipped network: {start_acc}")
    bs, start, step, epoch = 128, time.time(), 0, 0
    done = False

    def evaluate(tag):
        for k, (name, *_r) in enumerate(plans):
            for kind, net in (("net", nets[k]), ("ema", ema[k])):
                _, plain = predict([net], xv_t)
                s = summary(plain[0], yv_t)
                if s["acc"] > best[k]["acc"]:
                    best[k] = {**s, "epoch": epoch, "kind": kind, "weights": to_keras(net)}
                log(f"{tag} {name} {kind} {s}")

    pairs = [([v for v in e.state_dict().values() if v.dtype.is_floating_point],
              [v for v in n.state_dict().values() if v.dtype.is_floating_point]) for e, n in zip(ema, nets)]
    while not done:
        for net in nets:
            net.train()
        for p, idx, x in views(xt, gens[0], bs, start, end):  # one view a step, read once by the teachers
            with torch.no_grad(), autocast():
                soft = torch.stack([t(x).float().softmax(-1) for t in tnets]).mean(0) if tnets else None
            d = min(0.999, (1 + step) / (10 + step))
            for k, (name, seed, mix, lr) in enumerate(plans):
                for g in opts[k].param_groups:
                    g["lr"] = lr * schedule(p)
                with autocast():
                    logits = nets[k](x).float()
                logp = logits.log_softmax(-1)
                loss = F.nll_loss(logp, yt[idx])
                if soft is not None:
                    loss = mix * -(soft * logp).sum(-1).mean() + (1 - mix) * loss
                opts[k].zero_grad(set_to_none=True)
                loss.backward()
                opts[k].step()
                with torch.no_grad():
                    torch._foreach_mul_(pairs[k][0], d)
                    torch._foreach_add_(pairs[k][0], pairs[k][1], alpha=1 - d)
            step += 1
        done = time_up(start, end)
        epoch += 1
        if epoch % 5 == 0 or done:
            evaluate(f"epoch {epoch} step {step}")
            save_students(plans, best, nets, ema, results)
    log(f"students: {epoch} epochs, {step} steps, {time.time() - start:.0f} s")
    save_students(plans, best, nets, ema, results)


def save_students(plans, best, nets, ema, results):
    blobs = {}
    for k, (name, *_r) in enumerate(plans):
        if "weights" in best[k]:
            for i, a in enumerate(best[k]["weights"]):
                blobs[f"{name}_best_{i}"] = a
        for i, a in enumerate(to_keras(ema[k])):
            blobs[f"{name}_ema_{i}"] = a
    np.savez(f"{WORK}/students.npz", **blobs)
    os.replace(f"{WORK}/students.npz", f"{OUT}/students.npz")
    info = {**results, **{plans[k][0]: {kk: v for kk, v in best[k].items() if kk != "weights"} for k in range(len(plans))}}
    with open(f"{OUT}/summary.json", "w") as f:
        json.dump(info, f, indent=1)


def main():
    deadline = float(sys.argv[1])
    log(f"device {DEV} {torch.cuda.get_device_name(0) if DEV == 'cuda' else ''} torch {torch.__version__}")
    load_data()
    log("data loaded")
    budget = deadline - (time.time() - T0) - 30
    t_end = time.time() + (0.62 if not SMOKE else 0.5) * budget
    procs = {}
    for k, name in enumerate(TEACHERS):
        procs[name] = subprocess.Popen([sys.executable, __file__, "teacher", name, str(t_end), str(11 + k)]
                                       + (["--smoke"] if SMOKE else []))
    for name, p in procs.items():
        try:
            p.wait(timeout=max(1.0, t_end - time.time() + 60))
        except subprocess.TimeoutExpired:
            p.kill()
            log(f"{name} killed at its limit")
    done = [n for n in TEACHERS if os.path.exists(f"{WORK}/{n}.pt")]
    log(f"teachers done: {done}")
    s_end = T0 + deadline - 25
    try:
        students(s_end, done)
    except Exception as e:  # noqa: BLE001 - what was saved still comes back
        log(f"students failed: {e!r}")
        raise
    log("done")


if __name__ == "__main__":
    if sys.argv[1] == "teacher":
        try:
            teacher(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
        except Exception as e:  # noqa: BLE001
            log(f"failed: {e!r}", sys.argv[2])
            raise
    else:
        main()
