using System.Text.Json;
using System.Text.Json.Serialization;

namespace Simulator.Scenarios;

/// <summary>
/// JSON text of a string as <see cref="JsonSerializer"/> writes it (quoted, escaped by the default encoder), without
/// reflection, so it works in the native (AOT) build of <c>sim</c>.
/// </summary>
public static class JsonText
{
    /// <summary>The quoted JSON string literal of <paramref name="text"/>.</summary>
    public static string Quote(string text) => JsonSerializer.Serialize(text, JsonTextContext.Default.String);
}

// Implementation note: a source-generated context instead of JsonSerializer.Serialize(object): reflection-based
// serialization is off in a Native AOT binary (it throws), and the generated code runs the same writer and encoder,
// so the text is the same byte for byte (JsonTextTest compares the two).
[JsonSerializable(typeof(string))]
internal sealed partial class JsonTextContext : JsonSerializerContext;
