namespace Simulator.Kernel;

/// <summary>The state of a <see cref="ResourceRequest"/> for a resource slot.</summary>
public enum ResourceRequestState
{
    /// <summary>Queued, waiting for a free slot.</summary>
    Waiting,

    /// <summary>Holding a slot.</summary>
    Granted,

    /// <summary>Held a slot and gave it back.</summary>
    Released,

    /// <summary>Withdrawn before it was granted.</summary>
    Cancelled,
}

/// <summary>
/// A request for one slot of a resource: an event that succeeds when the slot is granted. Disposing it
/// releases the slot (or withdraws the request if still waiting), so <c>using (var req = res.Request())</c>
/// holds the slot for the block.
/// </summary>
public sealed class ResourceRequest : Event, IDisposable
{
    internal ResourceRequest(ResourceBase resource, int priority, long sequence) : base(resource.Environment)
    {
        Resource = resource;
        Priority = priority;
        Sequence = sequence;
        RequestedAtNs = resource.Environment.NowNs;
    }

    /// <summary>The resource asked for.</summary>
    public ResourceBase Resource { get; }

    /// <summary>Queue priority: lower values are served first (ties in arrival order).</summary>
    public int Priority { get; }

    /// <summary>Arrival order at the resource.</summary>
    public long Sequence { get; }

    public ResourceRequestState State { get; internal set; }

    /// <summary>When the request was made (ns).</summary>
    public long RequestedAtNs { get; }

    /// <summary>When the slot was granted (ns); -1 until then.</summary>
    public long GrantedAtNs { get; internal set; } = -1;

    /// <summary>Releases the slot if granted, withdraws the request if waiting; does nothing otherwise.</summary>
    public void Dispose() => Resource.ReleaseOrCancel(this);
}

/// <summary>
/// A pool of identical slots (servers, GPUs, lanes) shared by processes (SimSharp's resources). A process
/// yields a <see cref="ResourceRequest"/> and holds a slot until it releases it. Optional monitors record
/// time-weighted utilization and queue length, and the waiting time of each grant.
/// </summary>
public abstract class ResourceBase
{
    private long _sequence;

    protected ResourceBase(Simulation environment, int capacity)
    {
        Environment = environment ?? throw new ArgumentNullException(nameof(environment));
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be at least 1");
        Capacity = capacity;
    }

    public Simulation Environment { get; }

    /// <summary>Number of slots.</summary>
    public int Capacity { get; }

    /// <summary>Slots held now.</summary>
    public int InUse { get; private set; }

    /// <summary>Slots free now.</summary>
    public int Remaining => Capacity - InUse;

    /// <summary>Requests waiting now.</summary>
    public int WaitingCount { get; private set; }

    /// <summary>Requests granted so far.</summary>
    public long GrantedCount { get; private set; }

    /// <summary>When set, follows InUse / Capacity over time (time-weighted mean = utilization).</summary>
    public TimeSeriesMonitor? Utilization { get; set; }

    /// <summary>When set, follows the number of waiting requests over time.</summary>
    public TimeSeriesMonitor? QueueLength { get; set; }

    /// <summary>When set, receives each granted request's waiting time in nanoseconds.</summary>
    public SampleMonitor? WaitingTimeNs { get; set; }

    /// <summary>Asks for a slot with the given priority (ignored by FIFO resources).</summary>
    protected ResourceRequest RequestCore(int priority)
    {
        var request = new ResourceRequest(this, priority, _sequence++);
        if (InUse < Capacity && WaitingCount == 0)
        {
            Grant(request);
        }
        else
        {
            Enqueue(request);
            WaitingCount++;
            QueueLength?.UpdateTo(WaitingCount);
        }
        return request;
    }

    /// <summary>Gives back the slot held by <paramref name="request"/> and serves the next waiting requests.</summary>
    public void Release(ResourceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Resource != this) throw new ArgumentException("the request belongs to another resource", nameof(request));
        if (request.State != ResourceRequestState.Granted)
            throw new InvalidOperationException($"cannot release a request in state {request.State}");
        request.State = ResourceRequestState.Released;
        InUse--;
        Utilization?.UpdateTo((double)InUse / Capacity);
        ServeWaiting();
    }

    internal void ReleaseOrCancel(ResourceRequest request)
    {
        switch (request.State)
        {
            case ResourceRequestState.Granted:
                Release(request);
                break;
            case ResourceRequestState.Waiting:
                request.State = ResourceRequestState.Cancelled;
                WaitingCount--;
                QueueLength?.UpdateTo(WaitingCount);
                ServeWaiting();
                break;
        }
    }

    private void ServeWaiting()
    {
        while (InUse < Capacity && WaitingCount > 0)
        {
            var next = Dequeue();
            if (next.State != ResourceRequestState.Waiting) continue; // withdrawn: skipped lazily
            WaitingCount--;
            QueueLength?.UpdateTo(WaitingCount);
            Grant(next);
        }
    }

    private void Grant(ResourceRequest request)
    {
        request.State = ResourceRequestState.Granted;
        request.GrantedAtNs = Environment.NowNs;
        InUse++;
        GrantedCount++;
        Utilization?.UpdateTo((double)InUse / Capacity);
        WaitingTimeNs?.Add(request.GrantedAtNs - request.RequestedAtNs);
        request.Succeed(request);
    }

    /// <summary>Adds a waiting request to the queue.</summary>
    private protected abstract void Enqueue(ResourceRequest request);

    /// <summary>Removes the next request to serve (withdrawn ones may still be in the queue).</summary>
    private protected abstract ResourceRequest Dequeue();
}

/// <summary>A resource whose waiting requests are served first-in first-out.</summary>
public sealed class Resource : ResourceBase
{
    private readonly Queue<ResourceRequest> _queue = new();

    public Resource(Simulation environment, int capacity = 1) : base(environment, capacity) { }

    /// <summary>Asks for a slot; yield the request to wait for it, dispose it (or call Release) to give it back.</summary>
    public ResourceRequest Request() => RequestCore(0);

    private protected override void Enqueue(ResourceRequest request) => _queue.Enqueue(request);

    private protected override ResourceRequest Dequeue() => _queue.Dequeue();
}

/// <summary>A resource whose waiting requests are served by priority (lower value first), ties first-in first-out.</summary>
public sealed class PriorityResource : ResourceBase
{
    private readonly PriorityQueue<ResourceRequest, (int Priority, long Sequence)> _queue = new();

    public PriorityResource(Simulation environment, int capacity = 1) : base(environment, capacity) { }

    /// <summary>Asks for a slot with <paramref name="priority"/> (lower is served first).</summary>
    public ResourceRequest Request(int priority = 0) => RequestCore(priority);

    private protected override void Enqueue(ResourceRequest request) => _queue.Enqueue(request, (request.Priority, request.Sequence));

    private protected override ResourceRequest Dequeue() => _queue.Dequeue();
}
