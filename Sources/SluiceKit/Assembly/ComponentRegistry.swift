import SluiceComponentConfig
import SluiceSinks
import SluiceSources

extension ComponentRegistry {
    /// The types Sluice ships; a command adds its extensions' to its own copy.
    static var builtIn: ComponentRegistry {
        ComponentRegistry(sources: BuiltInSources.all, sinks: BuiltInSinks.all)
    }
}
