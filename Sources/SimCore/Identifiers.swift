import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// xoshiro256**: a fast, well-distributed generator for identifiers that must be unique, not secret. Seeded
/// once from the system's entropy, so an id costs no system call.
package struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator seeded from `SystemRandomNumberGenerator` (never all zeros).
    package init() {
        var system = SystemRandomNumberGenerator()
        repeat {
            state = (system.next(), system.next(), system.next(), system.next())
        } while state == (0, 0, 0, 0)
    }

    package mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// Generators for the identifiers Lambda hands out: request ids, trace ids, log stream names.
package enum Identifiers {
    private static let hexDigits: StaticString = "0123456789abcdef"
    private static let generator = Mutex(Xoshiro256StarStar())

    /// 64 random bits, without a system call.
    package static func random64() -> UInt64 { generator.withLock { $0.next() } }

    /// `count` random lowercase hex digits.
    package static func randomHex(_ count: Int) -> String {
        String(unsafeUninitializedCapacity: count) { buffer in
            var word: UInt64 = 0
            for i in 0..<count {
                if i % 16 == 0 { word = random64() }
                buffer[i] = hexDigits.utf8Start[Int(word & 0xF)]
                word >>= 4
            }
            return count
        }
    }

    /// A random (version 4) UUID in lowercase canonical form.
    package static func uuid() -> String {
        let (high, low) = generator.withLock { ($0.next(), $0.next()) }
        return String(unsafeUninitializedCapacity: 36) { out in
            var o = 0
            for i in 0..<16 {
                var byte = UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> (8 * (i % 8)))
                if i == 6 { byte = (byte & 0x0F) | 0x40 }
                if i == 8 { byte = (byte & 0x3F) | 0x80 }
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    out[o] = UInt8(ascii: "-")
                    o += 1
                }
                out[o] = hexDigits.utf8Start[Int(byte >> 4)]
                out[o + 1] = hexDigits.utf8Start[Int(byte & 0xF)]
                o += 2
            }
            return 36
        }
    }

    /// True for a canonical UUID string (any version), as Lambda checks extension identifiers.
    package static func isUUID(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return false }
        for (i, c) in utf8.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) {
                return false
            }
        }
        return true
    }

    /// An X-Ray trace header: `Root=1-<epoch seconds hex>-<24 hex>;Parent=<16 hex>;Sampled=0`.
    package static func traceHeader(epochMilliseconds: Int64) -> String {
        // "Root=1-" 8 "-" 24 ";Parent=" 16 ";Sampled=0" (74 bytes): one allocation, as this runs for every invoke.
        let seconds = UInt64(max(0, epochMilliseconds / 1000))
        return String(unsafeUninitializedCapacity: 74) { out in
            var o = 0
            func put(_ text: StaticString) {
                for i in 0..<text.utf8CodeUnitCount {
                    out[o] = text.utf8Start[i]
                    o += 1
                }
            }
            func hex(_ value: UInt64, digits: Int) {
                for i in stride(from: digits - 1, through: 0, by: -1) {
                    out[o] = hexDigits.utf8Start[Int((value >> (4 * UInt64(i))) & 0xF)]
                    o += 1
                }
            }
            put("Root=1-")
            hex(seconds, digits: 8)
            put("-")
            let (a, b, c) = generator.withLock { ($0.next(), $0.next(), $0.next()) }
            hex(a, digits: 16)
            hex(b, digits: 8)
            put(";Parent=")
            hex(c, digits: 16)
            put(";Sampled=0")
            return o
        }
    }

    /// `YYYY/MM/DD/[<version>]<32 hex>`, the log stream name of one execution environment.
    package static func logStreamName(version: String, epochMilliseconds: Int64) -> String {
        let date = CivilTime(epochMilliseconds: epochMilliseconds)
        return "\(date.year)/\(pad(date.month))/\(pad(date.day))/[\(version)]\(randomHex(32))"
    }

    static func pad(_ value: Int, _ width: Int = 2) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// UTC calendar fields of an instant.
package struct CivilTime: Equatable {
    package var year, month, day, hour, minute, second, millisecond: Int
    /// Day of the week, 0 = Sunday.
    package var weekday: Int

    package init(epochMilliseconds: Int64) {
        var seconds = time_t(epochMilliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        year = Int(parts.tm_year) + 1900
        month = Int(parts.tm_mon) + 1
        day = Int(parts.tm_mday)
        hour = Int(parts.tm_hour)
        minute = Int(parts.tm_min)
        second = Int(parts.tm_sec)
        millisecond = Int(epochMilliseconds % 1000)
        weekday = Int(parts.tm_wday)
    }

    /// ISO 8601 with milliseconds, e.g. `2022-10-12T00:00:15.064Z`.
    package var iso8601: String {
        let p = Identifiers.pad
        return "\(year)-\(p(month, 2))-\(p(day, 2))T\(p(hour, 2)):\(p(minute, 2)):\(p(second, 2)).\(p(millisecond, 3))Z"
    }

    /// The HTTP `Date` form (RFC 9110 IMF-fixdate), e.g. `Sat, 02 Mar 2024 18:59:37 GMT`.
    package var httpDate: String {
        let p = Identifiers.pad
        let day = Self.weekdays[weekday]
        let monthName = Self.months[month - 1]
        return "\(day), \(p(self.day, 2)) \(monthName) \(year) \(p(hour, 2)):\(p(minute, 2)):\(p(second, 2)) GMT"
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}
