public import SluiceComponentConfig

/// Every sink type Sluice ships, each declared beside its configuration reading.
public enum BuiltInSinks {
    public static let all: [SinkRegistration] = [
        ConsoleSink.registration, BlackholeSink.registration, AlertSink.registration, ArchiveSink.registration,
        OTLPSinkSettings.registration, NATSSink.registration, ProgramSink.registration,
    ] + HTTPDeliverySink.registrations
}
