namespace MlOps.Client;
internal static class Placeholder { }
