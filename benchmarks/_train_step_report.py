"""The report of `benchmarks/train_step.py`: markdown tables, speed verdicts and the scaling plot.

Everything here is a function of the report dict that `train_step.main`
writes to ``train_step.json``.
"""

import statistics

from benchmarks._timing import DEFAULTS, SCALING as SCALING_TIMING

BATCH = DEFAULTS["batch"]

# reference row -> (the peer it changes, the ganzoo contender that has the same piece)
REFERENCES = {
    "reference: TF GradientTape loop on ganzoo's layers": ("peer: TF GradientTape loop", "ganzoo tensorflow"),
    "reference: PyTorch loop + ganzoo's glibc settings": ("peer: PyTorch loop", "ganzoo torch"),
}



def fastest_ganzoo(rows):
    return max((r for r in rows if r["name"].startswith("ganzoo")), key=lambda r: r["steps_per_second"])



def plot_scaling(scaling, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=import-outside-toplevel
    from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel

    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    by_batch = [p for p in scaling if p["image"] == 28]
    by_side = [p for p in scaling if p["batch"] == BATCH]
    for axis_index, (points, key, label) in enumerate(
            ((by_batch, "batch", "batch size (28x28 images)"), (by_side, "image", "image side (batch 128)"))):
        axis = figure.add_subplot(1, 2, axis_index + 1)
        xs = [p[key] for p in points]
        axis.plot(xs, [p["step_ms"] for p in points], "o-", label="ms per step")
        axis.set_xlabel(label)
        axis.set_ylabel("ms per step")
        axis.set_xticks(xs)
        if key == "batch":
            axis.set_xscale("log", base=2)
            axis.set_yscale("log", base=2)
            axis.set_xticks(xs, [str(x) for x in xs])
        twin = axis.twinx()
        twin.plot(xs, [p["gflops"] for p in points], "s--", color="tab:orange", label="GFLOP/s")
        twin.set_ylabel("achieved GFLOP/s", color="tab:orange")
        twin.set_ylim(bottom=0)
        axis.set_title(f"{scaling[0]['contender']}: step time")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)



def markdown(report):
    cpu, rows = report["machine"], report["rows"]
    peers = [r for r in rows if r["name"].startswith("peer")]
    best_peer = max(peers, key=lambda r: r["steps_per_second"])
    best = fastest_ganzoo(rows)
    matmul = report["matmul_peak"]["matmul_gflops"]
    t = report["timing"]
    lines = [
        "# Training step speed: ganzoo against reference loops",
        "",
        f"Measured {report['date']} by `python benchmarks/train_step.py` in {report['seconds'] / 60:.1f} min.",
        "",
        f"**Machine**: {cpu['model']} (vendor {cpu['vendor']}, family {cpu['family']:#x}, model "
        f"{cpu['model_number']:#x}), {cpu['cores']} cores at {cpu['ghz']:.2f} GHz ({cpu['clock_source']}), "
        f"ISA {cpu['isa']}; no GPU.",
        f"**fp32 FMA peak**: {cpu['cores']} cores x {cpu['ghz']:.2f} GHz x {cpu['fma_units']} FMA units x "
        f"{cpu['fp32_lanes']} lanes x 2 = **{cpu['fma_peak_gflops']:.1f} GFLOP/s**"
        + (f" ({cpu['fma_note']})" if cpu["fma_note"] else "") + ".",
        f"**Measured matmul peak** (fp32 {report['matmul_peak']['n']}x{report['matmul_peak']['n']}, median of 5 "
        f"products, best of {report['matmul_peak']['measurements']} measurements: before the first round and "
        "after each): " + ", ".join(f"{k} {v:.1f} (lowest {report['matmul_peak']['range'][k][0]:.1f})"
                                    for k, v in matmul.items()) + " GFLOP/s"
        + (" (above the formula's peak, so the cores run faster than the clock read)"
           if max(matmul.values()) > cpu["fma_peak_gflops"] else "") + ".",
        "",
        f"Model: the DCGAN of `zoo_configs/{report['config']}.yaml`, batch {report['batch']}, 28x28x1 "
        f"Fashion-MNIST. Steps/s: median of {t['windows'] * t['rounds']} windows of {t['window']} steps "
        f"({t['windows']} per process after {t['warmup']} warm-up steps, {t['rounds']} rounds taking "
        "the contenders in turn).",
        "",
        "| contender | steps/s | windows min-max | ms/step | vs fastest peer | vs fastest ganzoo | GFLOP/step "
        "| GFLOP/s | % of FMA peak | % of matmul peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['steps_per_second']:.3f} | {min(r['windows']):.2f}-{max(r['windows']):.2f} | "
            f"{r['step_ms']:.0f} | "
            f"{r['steps_per_second'] / best_peer['steps_per_second']:.2f}x | "
            f"{r['steps_per_second'] / best['steps_per_second']:.2f}x | {r['gflop_per_step']:.2f} | "
            f"{r['gflops']:.1f} | {100 * r['fma_utilisation']:.0f} % | {100 * r['matmul_utilisation']:.0f} % |")
    ratio = best["steps_per_second"] / best_peer["steps_per_second"]
    by_name = {r["name"]: r for r in rows}
    slowest = min((r for r in rows if r["name"].startswith("ganzoo")), key=lambda r: r["steps_per_second"])
    pipeline_ms = report["pipeline"]["ms_per_batch"]
    round_ratios = [g / p for g, p in zip(best["per_round"], best_peer["per_round"])]
    lines += [
        "",
        f"- Fastest ganzoo ({best['name']}) / fastest peer ({best_peer['name']}): **{ratio:.2f}x** pooled; "
        f"within each round (the two processes ran minutes apart at most) "
        f"{', '.join(f'{x:.2f}x' for x in round_ratios)}, median **{statistics.median(round_ratios):.2f}x** "
        f"(goal >= 1.25x, by both: {goal_verdict(ratio, statistics.median(round_ratios), 1.25)}).",
        f"- Slowest ganzoo backend ({slowest['name']}) / fastest ganzoo: "
        f"**{slowest['steps_per_second'] / best['steps_per_second']:.2f}x** (goal >= 0.67x: "
        f"{'met' if slowest['steps_per_second'] / best['steps_per_second'] >= 0.67 else 'NOT met; see the profile'}).",
        *[f"- {name.split(': ', 1)[1]} (not a peer) / {peer}: "
          f"{by_name[name]['steps_per_second'] / by_name[peer]['steps_per_second']:.2f}x; {ganzoo} / it: "
          f"**{by_name[ganzoo]['steps_per_second'] / by_name[name]['steps_per_second']:.2f}x**."
          for name, (peer, ganzoo) in REFERENCES.items() if name in by_name],
        "- The peers are the loops a user writes: the TensorFlow one on Keras' own layers "
        "(`keras.layers.Conv2D`, ...), the PyTorch one on `torch.nn`. Each reference row gives one of "
        "them one piece of ganzoo.",
        f"- Input pipeline (`ganzoo.data.epoch_stream`, run alone): {pipeline_ms:.2f} ms per batch = "
        + ", ".join(f"{100 * pipeline_ms / r['step_ms']:.1f} % of {r['name']}'s step"
                    for r in rows if r["name"].startswith("ganzoo")) + " (goal < 5 %).",
        "",
        "FLOPs are counted from the layer shapes (Dense and convolution multiply-adds x 2; a layer's "
        "weight gradient and input gradient each cost its forward; bias, batch norm, activations and "
        "Adam are left out). They differ by loop: ganzoo runs the generator forward once per step and "
        "reuses that batch for the generator's update (`ganzoo`); the keras.io loop runs it twice "
        "(`keras_io`); the PyTorch loop runs it once but its `backward()` for the generator also "
        "computes the discriminator's weight gradients (`pytorch_examples`).",
        "",
        "## Where the time goes: per-layer profile (batch 128, median of 5 compiled calls, ms)",
        "",
        "Each cell: forward / input gradient / kernel gradient, each gradient timed with its forward "
        "pass (`jax.jit(jax.grad(...))`, `tf.function` + `GradientTape`, eager `torch.autograd.grad`). "
        "A linear layer's gradients do not need its output, so the compiled backends may leave the "
        "forward out of the gradient cells. The convolutions are `ganzoo.layers.Conv2D` and "
        "`Conv2DTranspose`: on PyTorch torch's op on the channels-last view of the input; on JAX the "
        "transposed ones are one matmul of input patches (`matmul.conv_transpose_as_matmul`) and the "
        "generator's 1-channel output convolution a matmul and a sum of shifted slices "
        "(`matmul.conv_as_matmul`), whose gradients are matmuls too; on TensorFlow the transposed ones "
        "run forward as one stride-1 convolution with the kernel laid out by output phase "
        "(`tf_kernels.conv_transpose`, TensorFlow's own gradients) and the output convolution's gradients are matmuls (`tf_kernels.conv_to_few_channels`). "
        "The `keras.` rows under the transposed ones time Keras' own layer with the same weights (on "
        "JAX its kernel gradient is a convolution over a stride-dilated input).",
        "",
        "| network | layer | input | " + " | ".join(
            f"{b} fwd / d-input / d-kernel" for b in report["layers"]) + " |",
        "|---|---|---|" + "---:|" * len(report["layers"]),
    ]
    per_backend = list(report["layers"].values())
    for i, row in enumerate(per_backend[0]):
        cells = [f"{rows_[i]['forward_ms']:.1f} / {rows_[i]['input_grad_ms']:.1f} / {rows_[i]['kernel_grad_ms']:.1f}"
                 for rows_ in per_backend]
        lines.append(f"| {row['network']} | {row['layer']} ({row['class']}) | {'x'.join(map(str, row['input']))} | "
                     + " | ".join(cells) + " |")
    lines += tf_ops_markdown(report)
    lines += torch_ops_markdown(report, best_peer)
    lines += jax_ops_markdown(report)
    lines += fma_headroom_markdown(report)
    if report["scaling"]:
        lines += [
            "",
            f"## Scaling ({report['scaling'][0]['contender']}; {SCALING_TIMING['windows']} windows of "
            f"{SCALING_TIMING['window']} steps after {SCALING_TIMING['warmup']} warm-up; 28x28 is "
            "Fashion-MNIST, 32 and 64 random images through `tf.data`)",
            "",
            "![step time against batch and image size](train_step_scaling.png)",
            "",
            "| batch | image | ms/step | samples/s | GFLOP/s | % of FMA peak |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for p in report["scaling"]:
            lines.append(f"| {p['batch']} | {p['image']} | {p['step_ms']:.0f} | {p['samples_per_second']:.0f} | "
                         f"{p['gflops']:.1f} | {100 * p['gflops'] / cpu['fma_peak_gflops']:.0f} % |")
    return "\n".join(lines) + "\n"


def tf_ops_markdown(report):
    """The results file's section on where ganzoo's TensorFlow step goes, by kind of op."""
    ops = report["tf_ops"]
    op_ms = sum(ops["op_ms_per_step"].values())
    lines = [
        "",
        f"## Where ganzoo's TensorFlow step goes (TensorFlow's profiler, {ops['steps']} steps of `fit`, "
        "op time per step)",
        "",
        "TensorFlow runs independent ops of the step at the same time on its inter-op threads, so "
        f"the ops' times add up to {op_ms:.0f} ms in a {ops['step_ms']:.0f} ms step (profiled); the shares "
        "are of the ops' time. Convolutions include their gradients and oneDNN's "
        "fused convolution + bias (+ activation) kernels.",
        "",
        "| kind of work | op ms/step | % of op time |",
        "|---|---:|---:|",
    ]
    lines += [f"| {kind} | {ms:.1f} | {100 * ms / op_ms:.0f} % |" for kind, ms in ops["op_ms_per_step"].items()]
    return lines


def product_split(report):
    """{backend: (profiled step ms, products ms, everything else ms)} from the three op-level profiles.

    Products are convolutions and matmuls. On TensorFlow, whose ops overlap,
    the products' share of the ops' time is taken of the step's wall time.
    """
    split = {}
    tf_ops = report["tf_ops"]
    kinds = tf_ops["op_ms_per_step"]
    share = (kinds["convolution"] + kinds["matmul (Dense)"]) / sum(kinds.values())
    split["tensorflow"] = (tf_ops["step_ms"], share * tf_ops["step_ms"], (1 - share) * tf_ops["step_ms"])
    torch_ops = report["torch_ops"]
    products = torch_ops["ms_per_step"]["convolution"] + torch_ops["ms_per_step"]["matmul (Dense)"]
    split["torch"] = (torch_ops["step_ms"], products, torch_ops["step_ms"] - products)
    jax_ops = report["jax_ops"]
    products = sum(ms for key, ms in jax_ops["ms_per_step"].items() if not key.endswith("|other"))
    split["jax"] = (jax_ops["step_ms"], products, jax_ops["step_ms"] - products)
    return split


def goal_verdict(pooled, median_of_rounds, goal):
    """'met' only when the pooled ratio and the median of the per-round ratios both reach `goal`."""
    if pooled >= goal and median_of_rounds >= goal:
        return "met"
    if pooled >= goal or median_of_rounds >= goal:
        return f"NOT met: {'pooled' if pooled >= goal else 'the median of the rounds'} reaches it, " \
               f"{'the median of the rounds' if pooled >= goal else 'pooled'} does not"
    return "NOT met"


def fma_headroom_markdown(report, goal=0.6):
    """The results file's section on how far each backend is from `goal` of the FMA peak, and why."""
    fma = report["machine"]["fma_peak_gflops"]
    matmul = max(report["matmul_peak"]["matmul_gflops"].values())
    gflop = report["ganzoo_gflop_per_step"]
    ideal_ms = 1000 * gflop / matmul  # every product at the measured matmul peak
    budget_ms = 1000 * gflop / (goal * fma) - ideal_ms
    lines = [
        "",
        f"## How far from {100 * goal:.0f} % of the FMA peak",
        "",
        f"ganzoo's step has {gflop:.2f} GFLOP of products. At the best measured matmul speed "
        f"({matmul:.1f} GFLOP/s, {100 * matmul / fma:.0f} % of the FMA peak) they would take {ideal_ms:.0f} ms, "
        f"and {100 * goal:.0f} % of the FMA peak ({goal * fma:.0f} GFLOP/s) means a whole step in "
        f"{1000 * gflop / (goal * fma):.0f} ms: "
        + (f"so even with products that fast, everything else in the step (batch norm, activations, Adam, "
           f"copies, Python) would have to fit in {budget_ms:.0f} ms." if budget_ms > 0 else
           "out of reach on this machine even with nothing else in the step.")
        + " From the op-level profiles above:",
        "",
        "| backend | profiled step ms | products ms | products GFLOP/s | % of matmul peak | everything else ms "
        "| % of FMA peak now | with products at the matmul peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, (step_ms, products_ms, other_ms) in product_split(report).items():
        speed = 1000 * gflop / products_ms
        lines.append(
            f"| {backend} | {step_ms:.0f} | {products_ms:.0f} | {speed:.0f} | {100 * speed / matmul:.0f} % | "
            f"{other_ms:.0f} | {100 * 1000 * gflop / step_ms / fma:.0f} % | "
            f"{100 * 1000 * gflop / (ideal_ms + other_ms) / fma:.0f} % |")
    lines += ["", "On TensorFlow, whose ops overlap, the products' and the rest's ms are their shares of the "
              "ops' time taken of the profiled step; on PyTorch and JAX they are the profiled ops' own times "
              "(JAX's rest includes the time between XLA's operations)."]
    return lines


def torch_ops_markdown(report, best_peer):
    """The results file's section on where ganzoo's PyTorch step goes, and what that leaves for the 1.25x goal."""
    ops = report["torch_ops"]
    step_ms = ops["step_ms"]
    lines = [
        "",
        f"## Where ganzoo's PyTorch step goes (`torch.profiler`, {ops['steps']} steps of `fit`, self time of "
        "each op, ms per step)",
        "",
        "| kind of work | ms/step | % of step |",
        "|---|---:|---:|",
    ]
    lines += [f"| {kind} | {ms:.1f} | {100 * ms / step_ms:.0f} % |" for kind, ms in ops["ms_per_step"].items()]
    lines.append(f"| whole step (profiled, so a little slower) | {step_ms:.1f} | 100 % |")
    conv_ms = ops["ms_per_step"]["convolution"]
    conv_gflops = ops["convolution_gflop_per_step"] / conv_ms * 1000
    torch_peak = report["matmul_peak"]["matmul_gflops"]["torch"]
    budget = 1000 / (1.25 * best_peer["steps_per_second"])
    lines += [
        "",
        f"The convolutions ({ops['convolution_gflop_per_step']:.2f} GFLOP per step by the count above) run "
        f"at {conv_gflops:.1f} GFLOP/s, {100 * conv_gflops / torch_peak:.0f} % of torch's measured "
        f"2048x2048 matmul peak ({torch_peak:.1f} GFLOP/s). 1.25x the fastest peer "
        f"({best_peer['steps_per_second']:.3f} steps/s) means a whole step in {budget:.0f} ms: with the "
        f"convolutions at {conv_ms:.0f} ms, that leaves {budget - conv_ms:.0f} ms for everything else "
        f"(batch norm, activations, Adam, Python), which takes {step_ms - conv_ms:.0f} ms here.",
    ]
    return lines


def jax_ops_markdown(report):
    """The results file's section on where ganzoo's JAX step goes, by layer and kind of work."""
    ops = report["jax_ops"]
    table = {}  # layer kind -> {(pass, products or not): ms}
    for key, ms in ops["ms_per_step"].items():
        layer, direction, work = key.split("|")
        cell = (direction, work != "other")
        row = table.setdefault(layer, {})
        row[cell] = row.get(cell, 0.0) + ms
    cells = [("forward", True), ("forward", False), ("backward", True), ("backward", False)]
    lines = [
        "",
        f"## Where ganzoo's JAX step goes (`jax.profiler`, {ops['steps']} steps of `fit`, XLA's operations, "
        "ms per step)",
        "",
        "Each of XLA's operations in the compiled step (its optimized HLO) is put under the layer its "
        "`op_name` names; `backward` is the gradient pass. Products: dots and convolutions, with what XLA "
        "fused around them; other: copies, pads, slices, elementwise and reduction loops.",
        "",
        "| layer | forward: products | forward: other | backward: products | backward: other | total | % of step |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for layer, by_cell in sorted(table.items(), key=lambda item: -sum(item[1].values())):
        total = sum(by_cell.values())
        lines.append(f"| {layer} | " + " | ".join(f"{by_cell.get(cell, 0.0):.1f}" for cell in cells)
                     + f" | {total:.1f} | {100 * total / ops['step_ms']:.0f} % |")
    measured = sum(ops["ms_per_step"].values())
    lines.append(f"| whole step (profiled) | | | | | {ops['step_ms']:.1f} | 100 % |")
    lines += ["", f"XLA's operations add up to {measured:.0f} ms of the {ops['step_ms']:.0f} ms step; the rest is "
              "Python, Keras and the wait between steps."]
    return lines
