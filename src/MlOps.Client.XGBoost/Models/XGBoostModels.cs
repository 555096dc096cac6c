using System.Runtime.CompilerServices;
using MlOps.Client.Models;

namespace MlOps.Client.XGBoost.Models;

/// <summary>Registers <see cref="XGBoostFlavor"/> for <see cref="Booster"/> so that <c>LoadModelAsync&lt;Booster&gt;</c> and <c>LogModelAsync(booster)</c> need no flavor argument.</summary>
internal static class XGBoostModels
{
#pragma warning disable CA2255 // The registration must happen before a Booster model is loaded or logged; a module initializer is the only hook that cannot be forgotten.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => ModelFlavors.Register<Booster>(new XGBoostFlavor());
}
