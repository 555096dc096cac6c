using System.Text.Json.Nodes;
using MlOps.Client.Models;

namespace MlOps.Client.Tests.Fixtures;

/// <summary>A minimal model flavor for tests: the model is a string saved as <c>model.txt</c>.</summary>
public sealed class TextFlavor : IModelFlavor<string>
{
    public string Name => "text";

    public async Task<FlavorConfiguration> SaveAsync(string model, string directory, CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(Path.Combine(directory, "model.txt"), model, cancellationToken);
        return new FlavorConfiguration(new JsonObject { ["data"] = "model.txt" });
    }

    public Task<string> LoadAsync(string directory, MlflowModel description, CancellationToken cancellationToken) =>
        File.ReadAllTextAsync(Path.Combine(directory, description.Flavors[Name]["data"]!.GetValue<string>()), cancellationToken);
}
