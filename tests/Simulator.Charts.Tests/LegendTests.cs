namespace Simulator.Charts.Tests;

public sealed class LegendTests
{
    [Test]
    public void AutoLegend_RisingCdf_AvoidsTheOccupiedUpperRight()
    {
        // A line from lower left to upper right leaves the upper-left corner empty.
        var plot = new Plot();
        var s = plot.Add.ScatterLine(Enumerable.Range(0, 101).Select(i => (double)i).ToArray(),
            Enumerable.Range(0, 101).Select(i => (double)i).ToArray());
        s.LegendText = "diagonal";
        plot.ShowLegend();
        Assert.That(plot.GetLegendPlacement(), Is.EqualTo(LegendPosition.UpperLeft));
    }

    [Test]
    public void AutoLegend_FallingLine_UsesUpperRight()
    {
        var plot = new Plot();
        var s = plot.Add.ScatterLine(new double[] { 0, 100 }, new double[] { 100, 0 });
        s.LegendText = "falling";
        plot.ShowLegend();
        Assert.That(plot.GetLegendPlacement(), Is.EqualTo(LegendPosition.UpperRight));
    }

    [Test]
    public void AutoLegend_DataInEveryCorner_GoesOutsideRight()
    {
        var plot = new Plot();
        var s = plot.Add.ScatterPoints(new double[] { 0, 0, 100, 100, 50 }, new double[] { 0, 100, 0, 100, 50 });
        s.MarkerSize = 120;
        s.LegendText = "corners";
        plot.ShowLegend();
        Assert.That(plot.GetLegendPlacement(), Is.EqualTo(LegendPosition.OutsideRight));
    }

    [Test]
    public void Legend_NoLegendText_IsNotDrawn()
    {
        var plot = new Plot();
        plot.Add.ScatterLine(new double[] { 0, 1 }, new double[] { 0, 1 });
        plot.ShowLegend();
        Assert.That(plot.GetLegendPlacement(), Is.Null);
        Assert.That(plot.GetSvg(), Does.Not.Contain("class=\"legend\""));
    }

    [Test]
    public void Legend_ExplicitPosition_IsKept()
    {
        var plot = new Plot();
        var s = plot.Add.ScatterLine(new double[] { 0, 1 }, new double[] { 0, 1 });
        s.LegendText = "x";
        plot.ShowLegend(LegendPosition.LowerRight);
        Assert.That(plot.GetLegendPlacement(), Is.EqualTo(LegendPosition.LowerRight));
    }
}
