using System.Text;

namespace MlOps.Client.Uploading.Spooling;

/// <summary>
/// One spooled unit: a log-batch of one run, or the end of a run whose entities were spooled (sent after them).
/// Binary payload: version, kind, run id, then the entities or the status and end time. No credentials: only run ids and
/// the logged values.
/// </summary>
internal sealed class SpoolRecord
{
    /// <summary>2: each metric is followed by its MLflow 3 link (a flag, then model id, dataset name and digest). 1 is still read.</summary>
    private const byte Version = 2;

    public required SpoolRecordKind Kind { get; init; }

    public required string RunId { get; init; }

    public IReadOnlyList<Metric> Metrics { get; init => field = value ?? []; } = [];

    public IReadOnlyList<Param> Params { get; init => field = value ?? []; } = [];

    public IReadOnlyList<RunTag> Tags { get; init => field = value ?? []; } = [];

    public RunStatus Status { get; init; }

    public long EndTimeMs { get; init; }

    public int EntityCount => Metrics.Count + Params.Count + Tags.Count;

    public byte[] Serialize()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Version);
            w.Write((byte)Kind);
            w.Write(RunId);
            if (Kind == SpoolRecordKind.RunEnd)
            {
                w.Write((int)Status);
                w.Write(EndTimeMs);
            }
            else
            {
                w.Write(Metrics.Count);
                foreach (var m in Metrics)
                {
                    w.Write(m.Key);
                    w.Write(m.Value);
                    w.Write(m.Timestamp);
                    w.Write(m.Step);
                    var linked = m.ModelId is not null || m.DatasetName is not null || m.DatasetDigest is not null;
                    w.Write(linked);
                    if (linked)
                    {
                        WriteOptional(w, m.ModelId);
                        WriteOptional(w, m.DatasetName);
                        WriteOptional(w, m.DatasetDigest);
                    }
                }

                w.Write(Params.Count);
                foreach (var p in Params)
                {
                    w.Write(p.Key);
                    w.Write(p.Value);
                }

                w.Write(Tags.Count);
                foreach (var t in Tags)
                {
                    w.Write(t.Key);
                    w.Write(t.Value);
                }
            }
        }

        return ms.ToArray();
    }

    /// <summary>A quick check before the checksum, for a reader that looks for the next record after damaged bytes.</summary>
    public static bool LooksLikeRecord(ReadOnlySpan<byte> payload) =>
        payload.Length >= 2 && (payload[0] is 1 or Version) && (payload[1] is (byte)SpoolRecordKind.Batch or (byte)SpoolRecordKind.RunEnd);

    public static SpoolRecord Deserialize(ReadOnlySpan<byte> payload)
    {
        using var ms = new MemoryStream(payload.ToArray());
        using var r = new BinaryReader(ms, Encoding.UTF8);
        var version = r.ReadByte();
        if (version is not (1 or Version))
        {
            throw new InvalidDataException($"Unknown spool record version {version}.");
        }

        var kind = (SpoolRecordKind)r.ReadByte();
        var runId = r.ReadString();
        if (kind == SpoolRecordKind.RunEnd)
        {
            return new SpoolRecord { Kind = kind, RunId = runId, Status = (RunStatus)r.ReadInt32(), EndTimeMs = r.ReadInt64() };
        }

        var metrics = new Metric[r.ReadInt32()];
        for (var i = 0; i < metrics.Length; i++)
        {
            metrics[i] = new Metric(r.ReadString(), r.ReadDouble(), r.ReadInt64(), r.ReadInt64());
            if (version >= 2 && r.ReadBoolean())
            {
                metrics[i] = metrics[i] with { ModelId = ReadOptional(r), DatasetName = ReadOptional(r), DatasetDigest = ReadOptional(r) };
            }
        }

        var parameters = new Param[r.ReadInt32()];
        for (var i = 0; i < parameters.Length; i++)
        {
            parameters[i] = new Param(r.ReadString(), r.ReadString());
        }

        var tags = new RunTag[r.ReadInt32()];
        for (var i = 0; i < tags.Length; i++)
        {
            tags[i] = new RunTag(r.ReadString(), r.ReadString());
        }

        return new SpoolRecord { Kind = kind, RunId = runId, Metrics = metrics, Params = parameters, Tags = tags };
    }

    private static void WriteOptional(BinaryWriter w, string? value)
    {
        w.Write(value is not null);
        if (value is not null)
        {
            w.Write(value);
        }
    }

    private static string? ReadOptional(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;
}

internal enum SpoolRecordKind : byte
{
    Batch = 1,
    RunEnd = 2,
}
