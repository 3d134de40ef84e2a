import SluiceComponentConfig
import SluiceConfig
import SluiceCore
import SluiceSources

/// A source or sink type added to Sluice under its own `type` name.
///
/// Each is two steps. The first runs while the configuration loads (also for
/// `sluice validate`): it reads and checks the component's settings and opens nothing. It
/// returns the second, which builds the component when Sluice starts; a sink is built again at
/// every reload (SIGHUP).
public struct SluiceExtension: Sendable {
    let type: String
    let register: @Sendable (inout ComponentRegistry) -> Void

    /// A sink type, configured as `sinks.<name>.type: <type>`; the keys every sink has
    /// (`inputs`, `where`, `when_full`, `enabled`) are Sluice's and need no reading.
    public static func sink(
        _ type: String, _ read: @escaping @Sendable (ComponentSettings) -> () throws -> any EventSink
    ) -> SluiceExtension {
        SluiceExtension(type: type) { registry in
            registry.register(SinkRegistration(type: type) { _, reader, _ in
                let build = read(ComponentSettings(reader))
                return SinkBlueprint { .delivering(ExtensionSink(try build())) }
            })
        }
    }

    /// A sink type that settles each batch later (`AcknowledgingEventSink`); otherwise as
    /// `sink(_:_:)`.
    public static func acknowledgingSink(
        _ type: String, _ read: @escaping @Sendable (ComponentSettings) -> () throws -> any AcknowledgingEventSink
    ) -> SluiceExtension {
        SluiceExtension(type: type) { registry in
            registry.register(SinkRegistration(type: type) { _, reader, _ in
                let build = read(ComponentSettings(reader))
                return SinkBlueprint {
                    let sink = try build()
                    return .acknowledging { report in AcknowledgingExtensionSink(sink, report: report) }
                }
            })
        }
    }

    /// A source type, configured as `sources.<name>.type: <type>`; the keys every source has
    /// (`format`, `labels`, `max_line_bytes`, `multiline`) are Sluice's and need no reading.
    public static func source(
        _ type: String, _ read: @escaping @Sendable (ComponentSettings) -> @Sendable () throws -> any EventSource
    ) -> SluiceExtension {
        SluiceExtension(type: type) { registry in
            registry.register(SourceRegistration(type: type) { name, reader, context in
                let settings = SourceSettings(reading: reader)
                let build = read(ComponentSettings(reader))
                let host = context.host
                return { ExtensionSource(name: name, source: try build(), settings: settings, host: host) }
            })
        }
    }
}
