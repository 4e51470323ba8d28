using Imprint.DiskImages.Tests.Support;

// The qemu-img images are made once per test run and shared by every test class.
[assembly: AssemblyFixture(typeof(QemuImages))]
