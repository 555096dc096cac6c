using System.Runtime.InteropServices;
using MlOps.Client.XGBoost.Native;

namespace MlOps.Client.XGBoost.Tests;

/// <summary>Managed checks before any native call: empty data, null or NUL in names and parameters, the library itself.</summary>
public sealed class InputValidationTests
{
    [XGBoostFact]
    public void Names_with_null_NUL_or_the_characters_XGBoost_reserves_are_refused_naming_the_entry()
    {
        var (x, y) = TestData.Binary(10, 3, 20);
        using var data = new DMatrix(x, y);
        Assert.Contains("FeatureNames[1] is null", Assert.Throws<ArgumentException>(() => data.FeatureNames = ["a", null!, "c"]).Message, StringComparison.Ordinal);
        Assert.Contains("NUL", Assert.Throws<ArgumentException>(() => data.FeatureNames = ["a", "b\0x", "c"]).Message, StringComparison.Ordinal);
        Assert.Contains("[, ] or <", Assert.Throws<ArgumentException>(() => data.FeatureNames = ["a", "b[0]", "c"]).Message, StringComparison.Ordinal);
        Assert.Contains("FeatureTypes[2] is 'x'", Assert.Throws<ArgumentException>(() => data.FeatureTypes = ["q", "q", "x"]).Message, StringComparison.Ordinal);
        Assert.Null(data.FeatureNames); // nothing reached XGBoost

        using var model = XGBoost.Train(TestData.BinaryParams(), data, numBoostRound: 1);
        Assert.Throws<ArgumentException>(() => model.FeatureNames = ["a", "b\0", "c"]);
        Assert.Throws<ArgumentException>(() => model.SetParameter("eta\0", 0.1));
        Assert.Throws<ArgumentException>(() => model.SetParameter("eval_metric", "auc\0rmse"));
    }

    [XGBoostFact]
    public void Training_on_a_matrix_without_rows_is_refused_before_XGBoost_sees_it()
    {
        using var empty = new DMatrix(ReadOnlySpan<float>.Empty, 0, 3, labels: []);
        Assert.Equal(0, empty.RowCount);
        var error = Assert.Throws<ArgumentException>(() => XGBoost.Train(TestData.BinaryParams(), empty, numBoostRound: 2));
        Assert.Contains("no rows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_library_that_does_not_load_is_reported_with_the_loaders_own_reason()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-xgb-lib-");
        try
        {
            var fake = Path.Combine(dir.FullName, "libxgboost.so");
            File.WriteAllText(fake, "not a shared library");
            var error = Assert.Throws<XGBoostLibraryNotFoundException>(() => XGBoostLibrary.Load(fake));
            Assert.Contains("XGBOOST_LIBRARY_PATH: " + fake + ":", error.Message, StringComparison.Ordinal);
            if (OperatingSystem.IsLinux())
            {
                Assert.Contains(fake + ": file too short", error.Message, StringComparison.Ordinal); // dlopen's own words
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_library_that_is_not_libxgboost_is_refused_right_after_loading()
    {
        var name = OperatingSystem.IsWindows() ? "kernel32.dll" : OperatingSystem.IsMacOS() ? "libSystem.dylib" : "libm.so.6";
        var handle = NativeLibrary.Load(name);
        var error = Assert.Throws<XGBoostLibraryNotFoundException>(() => XGBoostLibrary.CheckVersion(handle, name));
        Assert.Contains("no XGBoostVersion", error.Message, StringComparison.Ordinal);
        Assert.Contains("1.7.0", error.Message, StringComparison.Ordinal);
    }
}
