public import SluiceComponentConfig

/// Every source type Sluice ships, each declared beside its configuration reading.
public enum BuiltInSources {
    public static let all: [SourceRegistration] = [
        StdinSource.registration, ExecSource.registration, FIFOSource.registration, FileSource.registration,
        OTLPSource.registration, NATSSource.registration,
    ] + StreamServerSource.registrations + DatagramSource.registrations
}
