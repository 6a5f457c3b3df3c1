global using NUnit.Framework;
global using Simulator.Reports;
