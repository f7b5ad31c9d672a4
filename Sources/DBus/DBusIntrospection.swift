/// Introspection XML, generated from the same ``DBusInterface`` tables that dispatch calls.
public enum DBusIntrospection {
    public static let header = """
        <!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">

        """

    /// A whole document holding just these interfaces, as kept in `dbus/*.xml`.
    public static func document(for interfaces: [DBusInterface]) -> String {
        header + "<node>\n" + interfaces.map { xml(for: $0) }.joined() + "</node>\n"
    }

    /// One `<interface>` element.
    public static func xml(for interface: DBusInterface) -> String {
        var xml = " <interface name=\"\(escape(interface.name))\">\n"
        for method in interface.methods {
            xml += "  <method name=\"\(method.name)\">\n"
            for argument in method.inArguments {
                xml += "   <arg type=\"\(escape(argument.signature.rawValue))\" name=\"\(escape(argument.name))\" direction=\"in\"/>\n"
            }
            for argument in method.outArguments {
                xml += "   <arg type=\"\(escape(argument.signature.rawValue))\" name=\"\(escape(argument.name))\" direction=\"out\"/>\n"
            }
            xml += "  </method>\n"
        }
        for signal in interface.signals {
            xml += "  <signal name=\"\(signal.name)\">\n"
            for argument in signal.arguments {
                xml += "   <arg type=\"\(escape(argument.signature.rawValue))\" name=\"\(escape(argument.name))\"/>\n"
            }
            xml += "  </signal>\n"
        }
        for property in interface.properties {
            let access = property.isWritable ? "readwrite" : "read"
            let head = "  <property name=\"\(property.name)\" type=\"\(escape(property.signature.rawValue))\" access=\"\(access)\""
            if property.changeSignal == .emitsValue {
                xml += head + "/>\n"
            } else {
                xml += head + ">\n"
                xml += "   <annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"\(property.changeSignal.rawValue)\"/>\n"
                xml += "  </property>\n"
            }
        }
        xml += " </interface>\n"
        return xml
    }

    static func standardInterfaces(objectManager: Bool) -> String {
        var xml = """
             <interface name="org.freedesktop.DBus.Peer">
              <method name="Ping"/>
              <method name="GetMachineId">
               <arg type="s" name="machine_uuid" direction="out"/>
              </method>
             </interface>
             <interface name="org.freedesktop.DBus.Introspectable">
              <method name="Introspect">
               <arg name="xml_data" type="s" direction="out"/>
              </method>
             </interface>
             <interface name="org.freedesktop.DBus.Properties">
              <method name="Get">
               <arg name="interface_name" direction="in" type="s"/>
               <arg name="property_name" direction="in" type="s"/>
               <arg name="value" direction="out" type="v"/>
              </method>
              <method name="GetAll">
               <arg name="interface_name" direction="in" type="s"/>
               <arg name="props" direction="out" type="a{sv}"/>
              </method>
              <method name="Set">
               <arg name="interface_name" direction="in" type="s"/>
               <arg name="property_name" direction="in" type="s"/>
               <arg name="value" direction="in" type="v"/>
              </method>
              <signal name="PropertiesChanged">
               <arg type="s" name="interface_name"/>
               <arg type="a{sv}" name="changed_properties"/>
               <arg type="as" name="invalidated_properties"/>
              </signal>
             </interface>

            """
        if objectManager {
            xml += """
                 <interface name="org.freedesktop.DBus.ObjectManager">
                  <method name="GetManagedObjects">
                   <arg type="a{oa{sa{sv}}}" name="object_paths_interfaces_and_properties" direction="out"/>
                  </method>
                  <signal name="InterfacesAdded">
                   <arg type="o" name="object_path"/>
                   <arg type="a{sa{sv}}" name="interfaces_and_properties"/>
                  </signal>
                  <signal name="InterfacesRemoved">
                   <arg type="o" name="object_path"/>
                   <arg type="as" name="interfaces"/>
                  </signal>
                 </interface>

                """
        }
        return xml
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
