namespace Simulator.Inference.Cost;

/// <summary>
/// An engine's per-request cost outside the GPU, as a benchmark client (vLLM's <c>vllm bench serve</c>, which times
/// from sending the HTTP request to receiving each streamed chunk) sees it. Microseconds.
/// </summary>
/// <param name="PerRequestUs">HTTP request parsing, chat template, request validation and the hand-off to the engine
/// core (a ZMQ message in vLLM V1), before the scheduler sees the request.</param>
/// <param name="TokenizePerInputTokenUs">Tokenization of the prompt, per prompt token.</param>
/// <param name="DetokenizePerOutputTokenUs">Incremental detokenization of each output token.</param>
/// <param name="StreamPerTokenUs">Serializing and sending each token's server-sent event (the first token's included).</param>
/// <param name="Source">Where the numbers come from.</param>
public sealed record FrontEndCost(
    double PerRequestUs, double TokenizePerInputTokenUs, double DetokenizePerOutputTokenUs, double StreamPerTokenUs, string Source)
{
    /// <summary>No front end: engine-side timings (the Splitwise profiles, <c>engine: none</c>).</summary>
    public static FrontEndCost None { get; } = new(0, 0, 0, 0, "none");

    /// <summary>
    /// An OpenAI-compatible API server in front of the engine (vLLM's <c>vllm serve</c>; <c>trtllm-serve</c> has the
    /// same Python front end). ESTIMATES, not fits, from public orders of magnitude: 1 ms per request for FastAPI
    /// parsing, chat template and the hand-off to the engine process; 1.5 us per prompt token for a Rust BPE
    /// tokenizer (Hugging Face tokenizers run at roughly 0.5-1 M tokens/s on one core); 10 us per output token for
    /// incremental detokenization and 20 us for its SSE chunk (vLLM V1 moved both into the API server process so
    /// they overlap the engine: a lag on each token, not a cost per step). No measurement of these is in the
    /// repository's data; they are kept out of every fit.
    /// </summary>
    public static FrontEndCost OpenAiServer { get; } = new(1000, 1.5, 10, 20,
        "estimate: OpenAI-compatible API server (parse + hand-off 1 ms, tokenize 1.5 us/token, detokenize 10 us + stream 20 us per output token)");

    /// <summary>
    /// NVIDIA NIM's OpenAI-compatible server in front of TensorRT-LLM (<c>engine: trtllm</c>): the
    /// <see cref="OpenAiServer"/> terms with the per-request term FITTED (ServingValidation.FitFrontEndPerRequestUs) on
    /// one point only, NIM 1.8.0 serving Llama-3.3-70B FP8 on 2 x H100 with 500-token prompts at concurrency 1
    /// (data/calibration/serving/nim-llama3.3-70b-h100.csv); every other serving point is kept out of the fit.
    /// </summary>
    public static FrontEndCost TrtllmServer { get; } = OpenAiServer with
    {
        PerRequestUs = 2000,
        Source = "fitted per-request term: NIM 1.8.0 Llama-3.3-70B FP8 2 x H100, 500-token prompts, concurrency 1; other terms as OpenAiServer",
    };

    /// <summary>Time before the scheduler sees a request of <paramref name="inputTokens"/> prompt tokens, us.</summary>
    public double InputUs(int inputTokens) => PerRequestUs + TokenizePerInputTokenUs * inputTokens;

    /// <summary>Lag of each output token between the engine and the client, us.</summary>
    public double OutputLagUs => DetokenizePerOutputTokenUs + StreamPerTokenUs;

    /// <summary>The same costs as the serving simulation's delays (ns).</summary>
    public Serving.FrontEndDelays Delays() =>
        new((long)Math.Round(PerRequestUs * 1e3), TokenizePerInputTokenUs * 1e3, (long)Math.Round(OutputLagUs * 1e3));
}
