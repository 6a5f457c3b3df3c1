using Simulator.Inference.Metrics;
using Simulator.Kernel;

namespace Simulator.Inference.Serving;

/// <summary>What a fault does (scenario key <c>faults[].kind</c>).</summary>
public enum FaultKind
{
    /// <summary>A GPU fails: the replica whose TP group or pipeline holds it stops.</summary>
    GpuDown,

    /// <summary>A node fails: every replica with a GPU on it stops.</summary>
    NodeDown,

    /// <summary>A GPU computes <see cref="FaultEvent.Factor"/> times slower; its stage runs at its slowest member.</summary>
    Straggler,

    /// <summary>A physical link delivers <see cref="FaultEvent.Factor"/> of its bandwidth, both directions.</summary>
    LinkDegraded,
}

/// <summary>
/// One fault to inject. <paramref name="Target"/> is the GPU (gpu_down, straggler) or node (node_down) index;
/// <paramref name="Link"/> the physical link name (link_degraded). <paramref name="DurationNs"/> null = permanent.
/// <paramref name="Factor"/> is the slowdown (straggler, >= 1) or the bandwidth factor (link_degraded, in (0, 1]).
/// </summary>
public sealed record FaultEvent(long AtNs, FaultKind Kind, int Target, string? Link, long? DurationNs, double Factor = 1.0)
{
    /// <summary>The scenario's spelling of a kind (gpu_down, node_down, straggler, link_degraded).</summary>
    public static string KindName(FaultKind kind) => kind switch
    {
        FaultKind.GpuDown => "gpu_down",
        FaultKind.NodeDown => "node_down",
        FaultKind.Straggler => "straggler",
        _ => "link_degraded",
    };

    /// <summary>What the fault hits, as summary.json names it: gpu5, node1, or the link name.</summary>
    public string TargetName => Kind switch
    {
        FaultKind.NodeDown => "node" + MetricFormat.Integer(Target),
        FaultKind.LinkDegraded => Link ?? "",
        _ => "gpu" + MetricFormat.Integer(Target),
    };
}

/// <summary>Where a GPU sits: its node, and the replica and pipeline stage it serves (-1, -1 for a spare GPU).</summary>
public readonly record struct GpuSlot(int Node, int Replica, int Stage);

/// <summary>
/// Fault injection and retry settings of a serving run.
/// </summary>
/// <param name="Faults">Scripted faults (scenario key <c>faults</c>).</param>
/// <param name="Gpus">Every GPU of the cluster, by global index: what a GPU or node fault stops or slows.</param>
/// <param name="MaxRetries">How often one request may be re-sent after its replica went down (<c>retry.max_retries</c>).</param>
/// <param name="WeightLoadNs">Time a recovering replica spends reloading its weights before it is live again.</param>
/// <param name="GpuMtbfHours">Random GPU failures: mean time between failures of each GPU, hours; null = none.</param>
/// <param name="RepairNs">Random GPU failures: how long a failed GPU stays down.</param>
/// <param name="RandomSeed">Root seed of the per-GPU failure streams (derive it from the scenario seed).</param>
/// <param name="SetLinkFactor">Applies a link's bandwidth factor in the network model (port name, factor); null when no link fault can happen.</param>
/// <param name="ReplicaWeightLoadNs">Per replica (by index), its own weight load time; null = <paramref name="WeightLoadNs"/> for all (pools of different models' shards set it).</param>
public sealed record FaultSettings(
    IReadOnlyList<FaultEvent> Faults,
    IReadOnlyList<GpuSlot> Gpus,
    int MaxRetries = FaultSettings.DefaultMaxRetries,
    long WeightLoadNs = 0,
    double? GpuMtbfHours = null,
    long RepairNs = 0,
    ulong RandomSeed = 1,
    Action<string, double>? SetLinkFactor = null,
    IReadOnlyList<long>? ReplicaWeightLoadNs = null)
{
    /// <summary>Default of <c>retry.max_retries</c>: 2, as the OpenAI Python client's <c>max_retries</c>.</summary>
    public const int DefaultMaxRetries = 2;
}

/// <summary>
/// Applies a run's faults as simulated time passes: keeps, per GPU, how many faults hold it down and which
/// slowdowns it suffers, per link which bandwidth factors apply, and turns them into replica states (a replica is
/// down while any of its GPUs is), stage slowdowns (the slowest GPU of a stage sets its pace) and link factors (the
/// worst active factor). Overlapping faults compose: a GPU comes back when its last fault ends.
/// </summary>
internal sealed class FaultInjector
{
    private readonly Simulation _sim;
    private readonly FaultSettings _settings;
    private readonly Replica[] _replicas;
    private readonly Action<Replica> _onDown;
    private readonly Action _onLiveChanged;
    private readonly int[] _gpuDown;
    private readonly int[] _replicaDownGpus;
    private readonly int[] _loadGeneration;
    private readonly List<double>[] _slowdowns;
    private readonly Dictionary<string, List<double>> _linkFactors = new(StringComparer.Ordinal);
    private readonly List<FaultRecord> _applied = [];
    private readonly IRunRecorder _recorder;
    private StreamRandom[]? _failureStreams;

    public FaultInjector(Simulation sim, FaultSettings settings, Replica[] replicas, IRunRecorder recorder,
        Action<Replica> onDown, Action onLiveChanged)
    {
        _sim = sim;
        _settings = settings;
        _replicas = replicas;
        _recorder = recorder;
        _onDown = onDown;
        _onLiveChanged = onLiveChanged;
        int gpus = settings.Gpus.Count;
        _gpuDown = new int[gpus];
        _slowdowns = new List<double>[gpus];
        for (int g = 0; g < gpus; g++) _slowdowns[g] = [];
        _replicaDownGpus = new int[replicas.Length];
        _loadGeneration = new int[replicas.Length];
        if (settings.MaxRetries < 0) throw new ArgumentOutOfRangeException(nameof(settings), settings.MaxRetries, "max retries must be >= 0");
        if (settings.ReplicaWeightLoadNs is { } perReplica && perReplica.Count != replicas.Length)
            throw new ArgumentException($"{perReplica.Count} weight load times for {replicas.Length} replicas", nameof(settings));
        if (settings.WeightLoadNs < 0 || settings.ReplicaWeightLoadNs?.Any(ns => ns < 0) == true) throw new ArgumentOutOfRangeException(nameof(settings), settings.WeightLoadNs, "the weight load time must be >= 0");
        foreach (var f in settings.Faults) Check(f);
    }

    /// <summary>Every fault applied so far, in the order they began.</summary>
    public IReadOnlyList<FaultRecord> Applied => _applied;

    /// <summary>Schedules the scripted faults and the first random failure of every GPU.</summary>
    public void Start()
    {
        foreach (var f in _settings.Faults)
        {
            var fault = f;
            _sim.Schedule(new SimDuration(Math.Max(0, fault.AtNs - _sim.NowNs)), () => Begin(fault));
        }
        if (_settings.GpuMtbfHours is double mtbf)
        {
            if (!(mtbf > 0) || double.IsInfinity(mtbf)) throw new ArgumentOutOfRangeException(nameof(_settings), mtbf, "the MTBF must be a finite number > 0");
            var streams = new RandomStreams(unchecked((long)_settings.RandomSeed));
            _failureStreams = new StreamRandom[_settings.Gpus.Count];
            for (int g = 0; g < _failureStreams.Length; g++)
            {
                _failureStreams[g] = streams.Create("faults.gpu" + MetricFormat.Integer(g));
                ScheduleRandomFailure(g, 0);
            }
        }
    }

    // Implementation note: exponential times to failure (a constant failure rate, the usual MTBF model) drawn lazily,
    // one per GPU and only after the previous repair, so a run's faults do not depend on how long it lasts.
    private void ScheduleRandomFailure(int gpu, long afterNs)
    {
        double meanS = _settings.GpuMtbfHours!.Value * 3600.0;
        double u = _failureStreams![gpu].NextDouble();
        double ttfS = -meanS * Math.Log(1.0 - u);
        long at = afterNs + SimDuration.RoundToNs(Math.Min(ttfS * 1e9, long.MaxValue / 4.0));
        if (at > long.MaxValue / 2) return; // beyond any run
        _sim.Schedule(new SimDuration(Math.Max(0, at - _sim.NowNs)), () =>
        {
            var fault = new FaultEvent(_sim.NowNs, FaultKind.GpuDown, gpu, null, _settings.RepairNs);
            Begin(fault);
            ScheduleRandomFailure(gpu, _sim.NowNs + _settings.RepairNs);
        });
    }

    private void Begin(FaultEvent f)
    {
        long now = _sim.NowNs;
        var record = new FaultRecord(now, FaultEvent.KindName(f.Kind), f.TargetName, f.DurationNs,
            f.Kind is FaultKind.Straggler or FaultKind.LinkDegraded ? f.Factor : null);
        _applied.Add(record);
        _recorder.OnFault(record);
        Apply(f, +1);
        if (f.DurationNs is long d) _sim.Schedule(new SimDuration(d), () => Apply(f, -1));
    }

    /// <summary>Starts (<paramref name="sign"/> = +1) or ends (-1) a fault's effect.</summary>
    private void Apply(FaultEvent f, int sign)
    {
        switch (f.Kind)
        {
            case FaultKind.GpuDown:
                ChangeGpuDown(f.Target, sign);
                break;
            case FaultKind.NodeDown:
                for (int g = 0; g < _settings.Gpus.Count; g++)
                    if (_settings.Gpus[g].Node == f.Target) ChangeGpuDown(g, sign);
                break;
            case FaultKind.Straggler:
                if (sign > 0) _slowdowns[f.Target].Add(f.Factor);
                else _slowdowns[f.Target].Remove(f.Factor);
                UpdateSlowdown(_settings.Gpus[f.Target]);
                break;
            case FaultKind.LinkDegraded:
                if (!_linkFactors.TryGetValue(f.Link!, out var factors)) _linkFactors[f.Link!] = factors = [];
                if (sign > 0) factors.Add(f.Factor);
                else factors.Remove(f.Factor);
                _settings.SetLinkFactor?.Invoke(f.Link!, factors.Count == 0 ? 1.0 : factors.Min());
                break;
        }
    }

    private void ChangeGpuDown(int gpu, int sign)
    {
        int before = _gpuDown[gpu];
        _gpuDown[gpu] = Math.Max(0, before + sign);
        bool wasDown = before > 0, isDown = _gpuDown[gpu] > 0;
        int r = _settings.Gpus[gpu].Replica;
        if (wasDown == isDown || r < 0) return;
        var replica = _replicas[r];
        if (isDown)
        {
            if (_replicaDownGpus[r]++ == 0)
            {
                _loadGeneration[r]++;
                _onDown(replica);
                _onLiveChanged();
            }
        }
        else if (--_replicaDownGpus[r] == 0)
        {
            replica.BeginLoading();
            int generation = ++_loadGeneration[r];
            _sim.Schedule(new SimDuration(_settings.ReplicaWeightLoadNs?[r] ?? _settings.WeightLoadNs), () =>
            {
                if (_loadGeneration[r] != generation || _replicaDownGpus[r] > 0) return; // it failed again while loading
                replica.Recover();
                _onLiveChanged();
            });
        }
    }

    private void UpdateSlowdown(GpuSlot slot)
    {
        if (slot.Replica < 0) return;
        double worst = 1.0;
        for (int g = 0; g < _settings.Gpus.Count; g++)
        {
            var s = _settings.Gpus[g];
            if (s.Replica == slot.Replica && s.Stage == slot.Stage)
                foreach (var x in _slowdowns[g]) worst = Math.Max(worst, x);
        }
        _replicas[slot.Replica].SetComputeSlowdown(slot.Stage, worst);
    }

    private void Check(FaultEvent f)
    {
        if (f.AtNs < 0) throw new ArgumentOutOfRangeException(nameof(f), f.AtNs, "a fault cannot start before time 0");
        if (f.DurationNs is < 0) throw new ArgumentOutOfRangeException(nameof(f), f.DurationNs, "a fault's duration must be >= 0");
        switch (f.Kind)
        {
            case FaultKind.GpuDown or FaultKind.Straggler when (uint)f.Target >= (uint)_settings.Gpus.Count:
                throw new ArgumentOutOfRangeException(nameof(f), f.Target, $"GPU {f.Target} is outside 0..{_settings.Gpus.Count - 1}");
            case FaultKind.Straggler when !(f.Factor >= 1.0) || double.IsInfinity(f.Factor):
                throw new ArgumentOutOfRangeException(nameof(f), f.Factor, "a straggler's slowdown must be a finite number >= 1");
            case FaultKind.LinkDegraded when f.Link is null || !(f.Factor > 0 && f.Factor <= 1.0):
                throw new ArgumentOutOfRangeException(nameof(f), f.Factor, "a degraded link needs a name and a bandwidth factor in (0, 1]");
        }
    }
}
