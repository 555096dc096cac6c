namespace MlOps.Client.Uploading.Spooling;

/// <summary>
/// The spool's few calls that can fail on a faulty disk (a full file system, EIO on fsync, a read-only or vanished
/// folder), in one place so that the fault-injection tests can make each of them fail the way the operating system does.
/// Everything else (opening for reading, listing, deleting) goes straight to <see cref="File"/> and is written to tolerate files that
/// another process changes or deletes.
/// </summary>
internal class SpoolFileSystem
{
    /// <summary>The real file system.</summary>
    public static readonly SpoolFileSystem Real = new();

    /// <summary>Creates a new segment for appending. Unbuffered: a record reaches the OS in one write call, so a failure is seen by the append that caused it.</summary>
    public virtual FileStream CreateSegment(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder);
        }

        return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0);
    }

    /// <summary>Appends one framed record.</summary>
    public virtual void Append(FileStream segment, ReadOnlySpan<byte> frame) => segment.Write(frame);

    /// <summary>Forces what was appended to the disk (fsync).</summary>
    public virtual void Sync(FileStream segment) => segment.Flush(flushToDisk: true);

    /// <summary>Reads <paramref name="buffer"/>'s length of a segment from its current position (EIO on a failing disk).</summary>
    public virtual void Read(FileStream segment, byte[] buffer) => segment.ReadExactly(buffer);

    /// <summary>Cuts a segment back to <paramref name="length"/> (a record that failed half-way, or records whose fsync failed).</summary>
    public virtual void Truncate(FileStream segment, long length) => segment.SetLength(length);

    /// <summary>Writes a small file whole: through a temporary file and a rename, else in place, so a reader never sees half of it.</summary>
    public void WriteSmallFile(string path, ReadOnlySpan<byte> bytes)
    {
        var temp = path + ".tmp";
        try
        {
            WriteNewFile(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
        catch (IOException)
        {
            TryDelete(temp); // a full disk may have let the file be created, not written
            if (!File.Exists(path))
            {
                throw;
            }

            // A full disk has no block for a new file, but an existing file's bytes can be overwritten in place
            // (an acknowledgement is 8 bytes: one sector, written whole).
            OverwriteInPlace(path, bytes);
        }
    }

    /// <summary>Creates (or replaces) a file with <paramref name="bytes"/>, synced.</summary>
    public virtual void WriteNewFile(string path, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        f.Write(bytes);
        f.Flush(flushToDisk: true);
    }

    /// <summary>Overwrites the start of an existing file, synced (needs no new block).</summary>
    public virtual void OverwriteInPlace(string path, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None);
        f.Write(bytes);
        f.Flush(flushToDisk: true);
    }

    /// <summary>Creates a file that must not exist yet (a quarantined region); <see langword="false"/> when it does.</summary>
    public virtual bool CreateNew(string path, ReadOnlySpan<byte> bytes)
    {
        var folder = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder);
        }

        FileStream f;
        try
        {
            f = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }

        using (f)
        {
            f.Write(bytes);
        }

        return true;
    }

    /// <summary>Deletes a file; a file that is already gone, or that cannot be deleted now, is no error.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
