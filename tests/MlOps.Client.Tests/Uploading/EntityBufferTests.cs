using System.Reflection;
using MlOps.Client.Uploading;

namespace MlOps.Client.Tests.Uploading;

public class EntityBufferTests
{
    [Fact]
    public void An_entitys_copy_carries_every_field_it_has_and_will_have()
    {
        // The ring copies entities field by field (a struct assignment compiled to a slow rep movsq): a field added
        // later and forgotten in CopyTo would be lost on the way to the server. Every instance field, set by reflection.
        var fields = typeof(PendingEntity).GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        Assert.True(fields.Length >= 7, "the entity's fields were not found");
        object boxed = default(PendingEntity);
        foreach (var field in fields)
        {
            field.SetValue(boxed, Sample(field.FieldType, field.Name));
        }

        var source = (PendingEntity)boxed;
        var destination = default(PendingEntity);
        source.CopyTo(ref destination);

        foreach (var field in fields)
        {
            Assert.Equal(field.GetValue(source), field.GetValue(destination));
        }
    }

    [Fact]
    public void What_goes_into_the_ring_comes_out_the_same_and_in_order()
    {
        using var buffer = new EntityBuffer(8, 1000, static () => { });
        var link = new MetricLink("m-1", "train", "d1g3st");
        var written = new[]
        {
            PendingEntity.ForMetric("run-1", "loss", 0.25, 1_700_000_000_000, 3, link),
            PendingEntity.ForParam("run-1", "lr", "0.1"),
            PendingEntity.ForTag("run-2", "team", "ml"),
            PendingEntity.ForRunEnd("run-1", RunStatus.Finished, 1_700_000_000_500),
        };
        foreach (var entity in written)
        {
            var copy = entity;
            Assert.Equal(AddResult.Added, buffer.Add(ref copy, BufferFullPolicy.Throw));
        }

        var read = new PendingEntity[8];
        Assert.Equal(4, buffer.Drain(read));
        for (var i = 0; i < written.Length; i++)
        {
            Assert.Equal(written[i].ToString(), read[i].ToString());
            Assert.Equal(written[i].Text, read[i].Text);
            Assert.Equal(written[i].Link, read[i].Link);
            Assert.Equal((written[i].Value, written[i].Timestamp, written[i].Step, written[i].Kind), (read[i].Value, read[i].Timestamp, read[i].Step, read[i].Kind));
        }

        Assert.Equal(0, buffer.Drain(read));
    }

    private static object Sample(Type type, string name) =>
        type == typeof(string) ? "text of " + name
        : type == typeof(object) ? "object of " + name
        : type == typeof(double) ? 2.5
        : type == typeof(long) ? 42L
        : type == typeof(EntityKind) ? EntityKind.Tag
        : throw new InvalidOperationException($"PendingEntity has a field of a type this test does not fill: {type} {name}; add a sample for it.");
}
