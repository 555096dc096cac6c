using BenchmarkDotNet.Running;
using MlOps.Client.Benchmarks;

// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- ceiling URI [metrics] [rounds]   (this SDK / the server's raw ceiling, same run)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- throughput [metrics] [threads]
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- hotpath [calls] [runs] [metric-objects]   (training-thread bytes, precise)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- outage [metrics]   (peak memory while the server is down, spool on)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- xgboost [pairs] [rows]   (autolog overhead, 200 rounds x 50 features)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- xgboost-memory [iterations]   (finalizer-only loop vs Dispose; predict paths)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- system-metrics [samples]   (the sampler's CPU per sample)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- artifacts S3_ENDPOINT [MiB] [rounds] [python]   (S3ArtifactRepository vs boto3, same run)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- tracing [spans] [rounds]   (AddMlflowExporter vs OpenTelemetry's OTLP exporter alone, same run)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- sqlite [rounds]   (the embedded store's ingest against SQLite's own prepared insert, same run)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- scoring-anchor MODEL_FILE [ROWS_FILE] [seconds]   (XGBoost's in-place predict in-process: the 100-row scoring limit)
// dotnet run -c Release --project tests/MlOps.Client.Benchmarks -- --filter '*HotPath*'
if (args.Length > 0 && args[0] == "tracing")
{
    return await TracingHarness.RunAsync(args);
}

if (args.Length > 0 && args[0] == "scoring-anchor")
{
    return ScoringAnchorHarness.Run(args);
}

if (args.Length > 0 && args[0] == "ceiling")
{
    return await CeilingHarness.RunAsync(args);
}

if (args.Length > 0 && args[0] == "hotpath")
{
    return HotPathHarness.Run(args);
}

if (args.Length > 0 && args[0] == "outage")
{
    return await OutageHarness.RunAsync(args);
}

if (args.Length > 0 && args[0] == "xgboost")
{
    return await XGBoostAutologHarness.RunAsync(args);
}

if (args.Length > 0 && args[0] == "xgboost-memory")
{
    return XGBoostMemoryHarness.Run(args);
}

if (args.Length > 0 && args[0] == "sqlite")
{
    return await ThroughputHarness.SqliteIngestAsync(args);
}

if (args.Length > 0 && args[0] == "system-metrics")
{
    return SystemMetricsHarness.Run(args);
}

if (args.Length > 0 && args[0] == "artifacts")
{
    return await ArtifactStoreHarness.RunAsync(args);
}

if (args.Length > 0 && args[0] == "throughput")
{
    return await ThroughputHarness.RunAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(HotPathBenchmarks).Assembly).Run(args);
return 0;
