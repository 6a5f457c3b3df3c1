using Simulator.Inference.Cost;
using Simulator.Kernel;

namespace Simulator.Inference.Serving;

/// <summary>
/// Runs the timed parts of one pipeline stage's iteration, so that a network model can decide how long
/// communication takes. The analytic default uses the cost model's fixed times; a flow-mode network can
/// replay <see cref="StageCost.Comms"/> on shared links instead. Each call must eventually invoke its
/// handler exactly once with the token it was given.
/// </summary>
public interface IStageExecutor
{
    /// <summary>Occupies stage <paramref name="stage"/> of <paramref name="replica"/> for the iteration; calls <paramref name="done"/> when it ends.</summary>
    void Execute(int replica, int stage, StageCost cost, IEventHandler done, long token);

    /// <summary>Sends the activations from <paramref name="fromStage"/> to the next stage; calls <paramref name="arrived"/> when they arrive.</summary>
    void Send(int replica, int fromStage, StageCost cost, IEventHandler arrived, long token);

    /// <summary>
    /// What the iteration that just ended on <paramref name="stage"/> of <paramref name="replica"/> is recorded as, given the
    /// cost it was started with: the same cost, except where the executor priced it otherwise (a DP-attention engine adds
    /// the MoE layers of all its ranks and the wait for the slowest rank).
    /// </summary>
    StageCost Charged(int replica, int stage, StageCost planned) => planned;
}

/// <summary>Fixed delays on the kernel's fast path: a stage is busy for <see cref="StageCost.StageBusyNs"/>, a send takes <see cref="StageCost.PpCommNs"/>.</summary>
public sealed class AnalyticStageExecutor : IStageExecutor
{
    private readonly Simulation _sim;

    public AnalyticStageExecutor(Simulation sim)
    {
        _sim = sim ?? throw new ArgumentNullException(nameof(sim));
    }

    public void Execute(int replica, int stage, StageCost cost, IEventHandler done, long token) =>
        _sim.Schedule(new SimDuration(cost.StageBusyNs), done, token);

    /// <summary>What <see cref="Execute(int, int, StageCost, IEventHandler, long)"/> does, given the stage's busy time alone (the replica's call: no cost to copy).</summary>
    public void Execute(long stageBusyNs, IEventHandler done, long token) => _sim.Schedule(new SimDuration(stageBusyNs), done, token);

    public void Send(int replica, int fromStage, StageCost cost, IEventHandler arrived, long token) =>
        _sim.Schedule(new SimDuration(cost.PpCommNs), arrived, token);
}
