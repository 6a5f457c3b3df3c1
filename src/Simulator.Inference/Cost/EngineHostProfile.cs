using Simulator.Hardware.Specs;

namespace Simulator.Inference.Cost;

/// <summary>
/// A serving node's host CPU, by how fast it runs an engine's single-threaded Python / C++ host loop relative to
/// the DGX-A100's AMD EPYC 7742 (1.0), on which the Splitwise profiles were measured.
/// </summary>
/// <param name="Name">Preset name (scenario key <c>host_cpu</c>).</param>
/// <param name="RelativeSpeed">Single-thread speed relative to the EPYC 7742 (host-side engine time scales as 1 / speed).</param>
/// <param name="Source">Where the figure comes from.</param>
public sealed record HostCpu(string Name, double RelativeSpeed, string Source)
{
    /// <summary>DGX A100: 2 x AMD EPYC 7742 (Zen 2, 2.25 GHz base, 3.4 GHz boost). The reference.</summary>
    public static HostCpu Epyc7742 { get; } = new("epyc-7742", 1.0, "DGX A100 datasheet: 2 x AMD EPYC 7742; the reference host");

    /// <summary>
    /// DGX H100 / H200: 2 x Intel Xeon Platinum 8480C (Sapphire Rapids, 2.0 GHz base, 3.8 GHz boost). 1.35 x the EPYC 7742:
    /// an ESTIMATE from boost clock (3.8 / 3.4 = 1.12) times single-thread IPC (Golden Cove over Zen 2, about 1.2).
    /// </summary>
    public static HostCpu Xeon8480C { get; } = new("xeon-8480c", 1.35,
        "DGX H100 datasheet: 2 x Xeon Platinum 8480C; speed an estimate (boost clock 1.12x x IPC ~1.2x over Zen 2)");

    /// <summary>DGX B200: 2 x Intel Xeon Platinum 8570 (Emerald Rapids, 4.0 GHz boost): 1.42, the same estimate's method.</summary>
    public static HostCpu Xeon8570 { get; } = new("xeon-8570", 1.42,
        "DGX B200 datasheet: 2 x Xeon Platinum 8570; speed an estimate (boost clock 1.18x x IPC ~1.2x over Zen 2)");

    private static readonly HostCpu[] All = [Epyc7742, Xeon8480C, Xeon8570];

    /// <summary>Names accepted by <see cref="Named"/> (<c>auto</c> = by GPU, <see cref="For"/>).</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", .. All.Select(h => h.Name)];

    /// <summary>The host of the DGX node that carries <paramref name="gpu"/>: A100 -> EPYC 7742, H100/H200 -> Xeon 8480C, B200 -> Xeon 8570, others the reference.</summary>
    public static HostCpu For(GpuSpec gpu)
    {
        var n = gpu.Name.ToUpperInvariant();
        if (n.Contains("H100", StringComparison.Ordinal) || n.Contains("H200", StringComparison.Ordinal)) return Xeon8480C;
        if (n.Contains("B200", StringComparison.Ordinal)) return Xeon8570;
        return Epyc7742;
    }

    /// <summary>The host named <paramref name="name"/>; <c>auto</c> picks by GPU.</summary>
    public static HostCpu Named(string name, GpuSpec gpu) =>
        name.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? For(gpu)
            : All.FirstOrDefault(h => h.Name.Equals(name.Trim(), StringComparison.OrdinalIgnoreCase))
              ?? throw new ArgumentException($"host_cpu '{name}': allowed {string.Join(", ", Names)}");
}

/// <summary>
/// An engine's host-side cost as named, physical terms (microseconds on its <see cref="ReferenceHost"/>), so the same
/// engine on another node predicts its step times by its host CPU:
/// iteration = <see cref="SchedulingUsPerIteration"/> + (<see cref="PrepareUsPerSequence"/> + <see cref="SamplingUsPerSequence"/>)
/// x sequences + <see cref="PrepareUsPerToken"/> x new tokens (on the first stage); an eager engine's host cannot
/// launch a layer faster than <see cref="KernelsPerLayer"/> x <see cref="EagerLaunchUsPerKernel"/> (the stage takes the
/// larger of that and the GPU work); under CUDA graphs a kernel costs at most <see cref="GraphReplayUsPerKernel"/> of
/// fixed GPU time and the host launches one graph per step. Host terms scale with 1 / the host CPU's speed relative to
/// the reference; the graph replay term is GPU-side and does not.
/// </summary>
public sealed partial record EngineHostProfile(
    string Name,
    bool CudaGraphs,
    double EagerLaunchUsPerKernel,
    double GraphReplayUsPerKernel,
    double SchedulingUsPerIteration,
    double PrepareUsPerSequence,
    double PrepareUsPerToken,
    double SamplingUsPerSequence,
    HostCpu ReferenceHost,
    string Source)
{
    /// <summary>
    /// Kernels the host launches per decoder layer as this cost model counts them: QKV, O, gate-up and down GEMMs,
    /// attention, six element-wise kernels (two norms, rope, activation, two residual adds) and two TP all-reduces.
    /// </summary>
    public const int KernelsPerLayer = 13;

    /// <summary>
    /// The engine Splitwise measured (vLLM-era, eager, no CUDA graphs), refitted on splitwise-a100.csv only (DGX-A100,
    /// Llama-2-70B, TP 2/4/8) under the serving path's collective timer (<see cref="EngineOverheadFitter.DgxNodeTimer"/>):
    /// 3,186 us of scheduling per iteration, 294 us per sequence (input preparation and sampling together: every
    /// sequence samples every iteration there, so the two cannot be told apart; booked as preparation), 50.4 us per new
    /// token, and 39.85 us of host time per eager kernel launch (a 518 us floor per layer).
    /// </summary>
    public static EngineHostProfile Splitwise { get; } = new("splitwise", CudaGraphs: false,
        EagerLaunchUsPerKernel: CalibrationProfile.A100.CpuFloorPerLayerUs / KernelsPerLayer, GraphReplayUsPerKernel: 0,
        SchedulingUsPerIteration: CalibrationProfile.A100.IterationOverheadUs, PrepareUsPerSequence: CalibrationProfile.A100.PerSequenceOverheadUs,
        PrepareUsPerToken: CalibrationProfile.A100.PerTokenOverheadUs, SamplingUsPerSequence: 0, ReferenceHost: HostCpu.Epyc7742,
        Source: "fitted: splitwise-a100.csv (DGX-A100 host, EPYC 7742)");

    /// <summary>
    /// Whether the engine's host work for the next step (scheduling, input preparation) runs while the GPU executes the
    /// current one, so the first stage costs max(stage compute + TP/EP/CP communication, host) instead of their sum (PP
    /// hand-off and CPU floor wait still added): vLLM V1's asynchronous scheduling (the
    /// scheduler runs one step ahead of execution, vllm-project/vllm#19970), on by default in vLLM from
    /// <see cref="VllmAsyncSchedulingDefaultSince"/>. Opt-in here (<see cref="VllmRelease"/> with an explicit release
    /// >= 0.14): on both held-out vLLM sets it moved the predictions away from the measurements, so the
    /// <see cref="Vllm"/> host terms are read as the host time that shows in a step, not as the whole host work.
    /// </summary>
    public bool AsyncScheduling { get; init; }

    /// <summary>
    /// The first vLLM release that schedules asynchronously by default: vllm-project/vllm#27614 turned it on after
    /// v0.13.0 (vllm-project/vllm-ascend#5495, 2025-12-30, keeps its tests working "with both vllm version of v0.13.0
    /// and latest main commitID, while vllm enables async scheduling by default"); until then it was opt-in
    /// (<c>--async-scheduling</c>, experimental since #19970; vllm-project/recipes#131 still calls it opt-in for 0.11.x).
    /// </summary>
    public static Version VllmAsyncSchedulingDefaultSince { get; } = new(0, 14);

    /// <summary>
    /// A current vLLM (V1: CUDA graphs): 300 us per iteration, 10 us per sequence, 1 us per token, serial with the GPU's
    /// step (the host time that shows in a step; <see cref="AsyncScheduling"/> is opt-in, <see cref="VllmRelease"/>), at
    /// most 3 us of fixed time per kernel in a replayed graph. ESTIMATES for a DGX-H100-class host (no whole-iteration
    /// host timings are in the data); our CUDA-graph decode steps on H100/H200 are predicted within +3.4% to +10.9%.
    /// </summary>
    /// <remarks>
    /// Public timings of vLLM V1's engine-core host work per decode step bound these terms and do not call for a change
    /// (none names both its host CPU and its batch, so none is fitted): vllm-project/vllm#42131 (2026, a B200 node, pure
    /// decode) times <c>Scheduler.schedule()</c> at about 200 us per step, the model runner's <c>_update_states</c> at
    /// >= 180 us and <c>_prepare_inputs</c> at >= 50 us (what its fast paths save), "~0.4 ms per step" in all, against
    /// 300 + 8 x 11 = 388 us here at batch 8; vllm-project/vllm#46112 (2026, an RTX 5090 desktop) times the scheduler's
    /// <c>update_from_output</c> at 142 us for 128 sequences and 287 us for 256, about 1.1 us per sequence, inside the
    /// 10 us per sequence here; vllm-project/vllm#17866 (2025) cut Llama-3.2-1B's TPOT of 2.73 ms by ~10% with a fast
    /// decode input-preparation path, ~0.27 ms of input preparation per step at about one sequence. The ~0.8 ms per
    /// decode step that vLLM's CI latency rows on H200 leave unexplained is not in these (README "sim validate").
    /// </remarks>
    public static EngineHostProfile Vllm { get; } = new("vllm", CudaGraphs: true,
        EagerLaunchUsPerKernel: 0, GraphReplayUsPerKernel: 3.0, SchedulingUsPerIteration: 300, PrepareUsPerSequence: 10,
        PrepareUsPerToken: 1, SamplingUsPerSequence: 0, ReferenceHost: HostCpu.Xeon8480C,
        Source: "estimate for a DGX-H100 host (vLLM V1 with CUDA graphs)");

    /// <summary>
    /// TensorRT-LLM's engine (NIM): the <see cref="Vllm"/> terms, host work serial with the GPU step (its C++ executor's
    /// overlap is not modelled: the serving sets of NIM were checked this way).
    /// </summary>
    public static EngineHostProfile Trtllm { get; } = Vllm with { Name = "trtllm" };

    /// <summary>
    /// The <see cref="Vllm"/> profile for release <paramref name="version"/>: <c>auto</c> (the default) and releases
    /// before <see cref="VllmAsyncSchedulingDefaultSince"/> keep the host work serial with the GPU step; an explicit
    /// release from 0.14 on opts into <see cref="AsyncScheduling"/> (the first stage costs max(stage compute + TP/EP/CP communication, host)), as that release runs
    /// by default. Not the default because on the vLLM CI H200 latency set (median 7.1% serial, 9.7% overlapped) and the
    /// kvcached Qwen3-0.6B set (TTFT 84.6% -> 88.9%, throughput 27.8% -> 60.5%) it moved predictions away from the
    /// measurements.
    /// </summary>
    public static EngineHostProfile VllmRelease(string version) =>
        TryParseRelease(version, out var v) && v is not null && v >= VllmAsyncSchedulingDefaultSince ? Vllm with { AsyncScheduling = true } : Vllm;

    /// <summary>The forms <see cref="TryParseRelease"/> accepts, as bad-input errors state them.</summary>
    public const string ReleaseForms =
        "auto or a vLLM release: major.minor[.patch[.build]] with an optional leading v and PEP 440 suffix (a/b/rc N, .postN, .devN, +local), such as 0.14, 0.10.1.1, 0.6.3.post1, 0.11.0rc1";

    /// <summary>
    /// Whether <paramref name="text"/> is <c>auto</c> (any case) or a release number as vLLM tags them: two to four
    /// numeric parts (<c>0.11</c>, <c>0.11.0</c>, <c>0.10.1.1</c>), an optional leading <c>v</c>, and an optional PEP 440
    /// pre-, post-, dev-release or local suffix (<c>0.11.0rc1</c>, <c>0.6.3.post1</c>, <c>0.9.0.dev3</c>,
    /// <c>0.8.5+cu121</c>); <paramref name="version"/> is major.minor[.patch] only (a fourth part and the suffix do not
    /// move a release across <see cref="VllmAsyncSchedulingDefaultSince"/>), null for <c>auto</c>.
    /// </summary>
    public static bool TryParseRelease(string text, out Version? version)
    {
        version = null;
        var t = text.Trim();
        if (t.Equals("auto", StringComparison.OrdinalIgnoreCase)) return true;
        var match = ReleasePattern().Match(t);
        if (!match.Success) return false;
        var parts = match.Groups["release"].Value.Split('.');
        var numbers = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++) // the pattern holds digits only; this catches a part too large for an int
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out numbers[i])) return false;
        version = numbers.Length == 2 ? new Version(numbers[0], numbers[1]) : new Version(numbers[0], numbers[1], numbers[2]);
        return true;
    }

    /// <summary>
    /// Checks that <paramref name="version"/> is <c>auto</c> or a release (<see cref="TryParseRelease"/>) and that an
    /// explicit release goes with <paramref name="engine"/> <c>vllm</c> (the only engine it changes); the one rule the
    /// scenario key <c>engine_version</c> and the flag <c>--engine-version</c> share. Call it once the engine itself has
    /// been validated.
    /// </summary>
    /// <returns><paramref name="version"/> as written, or <c>auto</c> for <c>auto</c> in any case.</returns>
    /// <exception cref="ArgumentException">The version is not a release, or a release is given for another engine.</exception>
    public static string Check(string engine, string version)
    {
        if (!TryParseRelease(version, out var release))
            throw new ArgumentException($"'{version}' is not a release; expected {ReleaseForms}");
        if (release is not null && !engine.Trim().Equals("vllm", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"a release applies only to engine vllm (got engine {engine.Trim()}); remove it, set it to auto or use engine vllm");
        return release is null ? "auto" : version;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[vV]?(?<release>[0-9]+(\.[0-9]+){1,3})((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?(\+[A-Za-z0-9.]+)?$")]
    private static partial System.Text.RegularExpressions.Regex ReleasePattern();

    /// <summary>
    /// The profile's engine terms on <paramref name="host"/>: host terms divided by its speed relative to the reference,
    /// the dispatch floor from the eager launch cost, the graph replay cap on the kernel's fixed time.
    /// </summary>
    public CalibrationProfile ApplyTo(CalibrationProfile p, HostCpu host)
    {
        double slow = ReferenceHost.RelativeSpeed / host.RelativeSpeed;
        return p with
        {
            IterationOverheadUs = SchedulingUsPerIteration * slow,
            PerSequenceOverheadUs = (PrepareUsPerSequence + SamplingUsPerSequence) * slow,
            PerTokenOverheadUs = PrepareUsPerToken * slow,
            CpuFloorPerLayerUs = CudaGraphs ? 0 : KernelsPerLayer * EagerLaunchUsPerKernel * slow,
            KernelLaunchUs = CudaGraphs ? Math.Min(p.KernelLaunchUs, GraphReplayUsPerKernel) : p.KernelLaunchUs,
            Host = this,
            HostCpu = host,
        };
    }
}
