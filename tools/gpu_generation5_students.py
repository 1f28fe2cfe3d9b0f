"""Device run 2: four students from the shipped network, taught online by two of run 1's teachers (int8-packed to
travel), with softened targets (temperature) and a low learning rate, so that they stay near their start and
can be averaged (a weight soup). No val here: the students are judged on the other side.

Run: python3 tools/gpu_generation5_students.py DEADLINE_S [--smoke]. It reads ``.fer/r2/train.tar.xz`` (the
training split only, to fit the device's upload limit), ``.fer/r2/vgg_a.q.xz`` and ``.fer/r2/resnet.q.xz`` (two
teachers of ``gpu_generation5.py``, each weight tensor int8 with one scale per output channel, lzma-packed) and
``.fer/w/soup.npz``."""
import io, lzma, os, sys, tarfile, time
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(__file__))
import gpu_generation5 as gpu5  # noqa: E402
from gpu_generation5 import DEV, OUT, Small, ResNet18, VGG, autocast, from_keras, log, schedule, standardise, to_keras  # noqa: E402

T0 = time.time()
SMOKE = "--smoke" in sys.argv


def train_faces():
    import cv2
    xs, ys = [], []
    with tarfile.open(".fer/r2/train.tar.xz") as tar:
        for m in tar:
            parts = m.name.split("/")
            if m.isfile() and len(parts) == 3 and parts[1] in gpu5.EMOTIONS:
                img = cv2.imdecode(np.frombuffer(tar.extractfile(m).read(), np.uint8), cv2.IMREAD_GRAYSCALE)
                xs.append(img); ys.append(gpu5.EMOTIONS.index(parts[1]))
                if SMOKE and len(xs) >= 600:
                    break
    return np.stack(xs), np.asarray(ys, np.int64)


def teacher(name, make):
    q = np.load(io.BytesIO(lzma.decompress(open(f".fer/r2/{name}.q.xz", "rb").read())))
    sd = {}
    for k in q.files:
        if k.endswith("|s"):
            continue
        if k.endswith("|q"):
            w = torch.from_numpy(q[k].astype(np.float32)); s = torch.from_numpy(q[k[:-2] + "|s"])
            sd[k[:-2]] = w * s.view(-1, *[1] * (w.dim() - 1))
        else:
            sd[k] = torch.from_numpy(q[k])
    net = make(); net.load_state_dict(sd)
    return net.to(DEV).to(memory_format=torch.channels_last).eval()


def pack(src, dst):
    """A teacher's state (``teacher_NAME.pt`` from gpu_generation5.py) as int8 weights, one scale per output
    channel, lzma-packed: how ``.fer/r2/*.q.xz`` were made (``--pack SRC DST``)."""
    q = {}
    for k, v in torch.load(src, map_location="cpu").items():
        v = v.float()
        if v.dim() >= 2:
            s = v.abs().flatten(1).amax(1).clamp_min(1e-12) / 127
            q[k + "|q"] = torch.round(v / s.view(-1, *[1] * (v.dim() - 1))).to(torch.int8).numpy()
            q[k + "|s"] = s.numpy()
        else:
            q[k] = v.numpy()
    b = io.BytesIO()
    np.savez(b, **q)
    open(dst, "wb").write(lzma.compress(b.getvalue(), preset=6))


def main():
    deadline = float(sys.argv[1])
    torch.manual_seed(6); torch.backends.cudnn.benchmark = True
    xt, yt = train_faces()
    xt = standardise(torch.from_numpy(xt).to(DEV)); yt = torch.from_numpy(yt).to(DEV)
    tnets = [teacher("vgg_a", VGG), teacher("resnet", lambda: ResNet18((48, 96, 192, 384)))]
    log(f"run 2: {len(xt)} faces, teachers loaded")
    so = np.load(".fer/w/soup.npz"); soup = [so[f"arr_{i}"] for i in range(len(so.files))]
    plans = [("s61", 3.0, 0.9, 3e-4), ("s62", 1.0, 0.8, 3e-4), ("s63", 3.0, 0.7, 5e-4), ("s64", 2.0, 0.9, 2e-4)]
    nets = [from_keras(Small(), soup).to(DEV) for _ in plans]
    ema = [from_keras(Small(), soup).to(DEV) for _ in plans]
    opts = [torch.optim.AdamW(n.parameters(), lr=p[3], weight_decay=0.02) for n, p in zip(nets, plans)]
    pairs = [([v for v in e.state_dict().values() if v.dtype.is_floating_point],
              [v for v in n.state_dict().values() if v.dtype.is_floating_point]) for e, n in zip(ema, nets)]
    gen = torch.Generator(device=DEV).manual_seed(61)
    end = T0 + deadline - 15
    bs, start, step, epoch, done = 128, time.time(), 0, 0, False

    def save():
        for half, ks in (("a", (0, 1)), ("b", (2, 3))):
            blobs = {}
            for k in ks:
                for kind, net in (("last", nets[k]), ("ema", ema[k])):
                    for i, a in enumerate(to_keras(net)):
                        blobs[f"{plans[k][0]}_{kind}_{i}"] = a
            np.savez(f"{OUT}/tmp.npz", **blobs); os.replace(f"{OUT}/tmp.npz", f"{OUT}/students_{half}.npz")

    while not done:
        for n in nets:
            n.train()
        for p, idx, x in gpu5.views(xt, gen, bs, start, end):
            with torch.no_grad(), autocast():
                tl = [t(x).float() for t in tnets]
            d = min(0.998, (1 + step) / (10 + step))
            for k, (name, temp, mix, lr) in enumerate(plans):
                soft = torch.stack([(t / temp).softmax(-1) for t in tl]).mean(0)
                for g in opts[k].param_groups:
                    g["lr"] = lr * schedule(p, warm=0.05)
                s = nets[k](x)
                kd = -(soft * (s / temp).log_softmax(-1)).sum(-1).mean() * temp * temp
                loss = mix * kd + (1 - mix) * F.cross_entropy(s, yt[idx], label_smoothing=0.1)
                opts[k].zero_grad(set_to_none=True); loss.backward(); opts[k].step()
                with torch.no_grad():
                    torch._foreach_mul_(pairs[k][0], d); torch._foreach_add_(pairs[k][0], pairs[k][1], alpha=1 - d)
            step += 1
        done = gpu5.time_up(start, end)
        epoch += 1
        log(f"epoch {epoch} step {step} loss {loss.item():.3f} lr {opts[0].param_groups[0]['lr']:.2e}")
        if epoch % 5 == 0 or done:
            save()
    save()
    log(f"run 2 done: {epoch} epochs, {step} steps, {time.time() - start:.0f} s")


if __name__ == "__main__":
    if sys.argv[1] == "--pack":
        pack(sys.argv[2], sys.argv[3])
    else:
        main()
