// Labels and fix-ups.
//
// A reference to an already-bound label (a backward jump) is resolved on the spot. A reference
// to an unbound label emits a placeholder and records a fix-up; the fix-ups of one label form a
// singly linked chain through the flat `fixups` array, so binding a label patches exactly its
// own references without searching and without a dictionary. Once no fix-up is pending the
// array is emptied (keeping its capacity), so a long program whose forward jumps are all
// resolved does not accumulate dead entries.

/// Per-label bookkeeping.
struct LabelState {
    /// Offset the label is bound to, or -1 while unbound.
    var offset: Int32 = -1
    /// Index in `fixups` of the most recent pending reference, or -1.
    var head: Int32 = -1
}

/// A rel8/rel32 field waiting for its label to be bound.
struct Fixup {
    /// Offset of the displacement field.
    var field: Int32
    /// Offset of the end of the instruction, which the displacement is relative to.
    var end: Int32
    /// Next pending fix-up of the same label, or -1.
    var next: Int32
    /// True for a 1-byte field, false for 4 bytes.
    var short: Bool
}

extension X86Assembler {
    /// Creates a new, unbound label.
    public func newLabel() -> Label {
        precondition(labels.count < Int(UInt32.max), "too many labels")
        labels.append(LabelState())
        return Label(id: UInt32(truncatingIfNeeded: labels.count &- 1))
    }

    /// Binds `label` to the current position and patches every earlier reference to it.
    /// Precondition: the label is not bound yet, and every earlier rel8 reference reaches it.
    public func bind(_ label: Label) {
        let id = Int(label.id)
        precondition(labels[id].offset < 0, "label \(label.id) is bound twice")
        precondition(count <= Int(Int32.max), "code larger than 2 GiB")
        let target = Int32(truncatingIfNeeded: count)
        labels[id].offset = target
        var i = labels[id].head
        labels[id].head = -1
        while i >= 0 {
            let f = fixups[Int(i)]
            patch(f, target: target, label: label)
            pendingFixups &-= 1
            i = f.next
        }
        if pendingFixups == 0 && !fixups.isEmpty {
            fixups.removeAll(keepingCapacity: true)
        }
    }

    /// The offset `label` is bound to, or nil if it is not bound (yet).
    public func offset(of label: Label) -> Int? {
        let o = labels[Int(label.id)].offset
        return o < 0 ? nil : Int(o)
    }

    /// Whether `label` has been bound.
    public func isBound(_ label: Label) -> Bool {
        labels[Int(label.id)].offset >= 0
    }

    /// The number of labels made so far: a mark for `discardLabels(from:)`.
    public var labelCount: Int { labels.count }

    /// Forgets the labels made since `mark` (`labelCount` then), none of which may have a
    /// reference still waiting for it (bound, or never used): labels local to one instruction
    /// sequence, so that a long run of such sequences does not keep an entry for each (the
    /// recompiler's division makes four per guest instruction, which for a program of nothing
    /// else was a table of 32 bytes per byte of guest code, and as much again while the array
    /// grew). Their ids must not be used again.
    public func discardLabels(from mark: Int) {
        precondition(mark >= 0 && mark <= labels.count, "no such label mark")
        for i in mark..<labels.count {
            precondition(labels[i].head < 0, "label \(i) is discarded with references waiting for it")
        }
        labels.removeLast(labels.count - mark)
    }

    /// The number of label references still waiting for their label to be bound.
    public var unresolvedReferences: Int { pendingFixups }

    /// Checks that every label reference has been resolved, so the code is complete.
    /// Precondition: no reference to an unbound label remains.
    public func finalize() {
        precondition(pendingFixups == 0, "\(pendingFixups) reference(s) to unbound labels remain")
    }

    // MARK: Internals used by the instruction emitters

    /// Emits a 4-byte displacement field for `label`, relative to `end`, which is the offset of
    /// the end of the instruction (it can lie beyond the field when an immediate follows).
    @inline(__always)
    func emitRel32(_ label: Label, end: Int, addend: Int32 = 0) {
        let state = labels[Int(label.id)]
        if state.offset >= 0 {
            put32(UInt32(bitPattern: relative(Int(state.offset) &+ Int(addend), end: end, field: count)))
        } else {
            addFixup(label, field: count, end: end, short: false)
            put32(UInt32(bitPattern: addend))
        }
    }

    /// Emits a 1-byte displacement field for `label`, relative to the end of the field.
    @inline(__always)
    func emitRel8(_ label: Label) {
        let state = labels[Int(label.id)]
        let end = count &+ 1
        if state.offset >= 0 {
            let rel = Int(state.offset) &- end
            precondition(rel >= -128 && rel <= 127, "short jump to label \(label.id) does not reach (distance \(rel))")
            put(UInt8(truncatingIfNeeded: rel))
        } else {
            addFixup(label, field: count, end: end, short: true)
            put(0)
        }
    }

    /// True if a rel8 jump emitted now (with `length` bytes before the rel8 field's end)
    /// would reach the already-bound `label`.
    @inline(__always)
    func fitsShort(_ label: Label, instructionLength: Int) -> Bool {
        let o = labels[Int(label.id)].offset
        guard o >= 0 else { return false }
        let rel = Int(o) &- (count &+ instructionLength)
        return rel >= -128 && rel <= 127
    }

    private func relative(_ target: Int, end: Int, field: Int) -> Int32 {
        let rel = target &- end
        precondition(rel >= Int(Int32.min) && rel <= Int(Int32.max), "rel32 out of range")
        return Int32(truncatingIfNeeded: rel)
    }

    private func addFixup(_ label: Label, field: Int, end: Int, short: Bool) {
        let id = Int(label.id)
        fixups.append(Fixup(field: Int32(truncatingIfNeeded: field), end: Int32(truncatingIfNeeded: end),
                            next: labels[id].head, short: short))
        labels[id].head = Int32(truncatingIfNeeded: fixups.count &- 1)
        pendingFixups &+= 1
    }

    private func patch(_ f: Fixup, target: Int32, label: Label) {
        if f.short {
            let rel = Int(target) &- Int(f.end)
            precondition(rel >= -128 && rel <= 127, "short jump to label \(label.id) does not reach (distance \(rel))")
            base[Int(f.field)] = UInt8(truncatingIfNeeded: rel)
        } else {
            // The placeholder holds the addend of rip-relative operands (0 for jumps).
            let addend = Int32(bitPattern: UnsafeRawPointer(base + Int(f.field)).loadUnaligned(as: UInt32.self).littleEndian)
            store32(relative(Int(target) &+ Int(addend), end: Int(f.end), field: Int(f.field)), at: Int(f.field))
        }
    }
}
