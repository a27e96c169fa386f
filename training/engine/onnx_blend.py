"""One ONNX graph for an ensemble: member graphs side by side on the same inputs, their
probability (or value) outputs weighted and summed, so serving runs one session and the
exported model answers exactly what the Python ensemble answers.

Members must take the same inputs (names, types); each one's nodes, initializers and
intermediate values are renamed with a prefix so they cannot collide.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _prefixed_graph(model, prefix: str, keep: set[str]):
    """A copy of ``model.graph`` with every name not in ``keep`` prefixed."""
    import onnx

    graph = onnx.GraphProto()
    graph.CopyFrom(model.graph)

    def rename(name: str) -> str:
        return name if (not name or name in keep) else prefix + name

    for init in graph.initializer:
        init.name = rename(init.name)
    for init in graph.sparse_initializer:
        init.values.name = rename(init.values.name)
    for node in graph.node:
        node.name = rename(node.name) if node.name else ""
        node.input[:] = [rename(n) for n in node.input]
        node.output[:] = [rename(n) for n in node.output]
        for attr in node.attribute:
            if attr.g and attr.g.node:  # subgraphs (If/Loop): rename their outer references too
                raise ValueError("members with subgraphs cannot be blended")
    for value in graph.value_info:
        value.name = rename(value.name)
    for out in graph.output:
        out.name = rename(out.name)
    return graph


class _Merged:
    """Members' graphs side by side, each prefixed ``m{k}_`` (their shared inputs kept):
    the nodes, initializers and value infos to build on, and the opsets they need."""

    def __init__(self, members: Sequence[tuple[object, str]], what: str) -> None:
        first = members[0][0]
        self.inputs = list(first.graph.input)
        input_names = {i.name for i in self.inputs}
        for model, _ in members[1:]:
            if {i.name for i in model.graph.input} != input_names:
                raise ValueError(f"{what} members must take the same inputs")
        self.nodes: list = []
        self.initializers: list = []
        self.value_info: list = []
        self.opsets: dict[str, int] = {}
        self.ir_version = max(m.ir_version for m, _ in members)
        for k, (model, _out) in enumerate(members):
            for imp in model.opset_import:
                self.opsets[imp.domain] = max(self.opsets.get(imp.domain, 0), imp.version)
            graph = _prefixed_graph(model, f"m{k}_", input_names)
            self.nodes.extend(graph.node)
            self.initializers.extend(graph.initializer)
            self.value_info.extend(graph.value_info)

    def model(self, name: str, outputs: list):
        import onnx
        from onnx import helper

        graph = helper.make_graph(self.nodes, name, self.inputs, outputs, initializer=self.initializers,
                                  value_info=self.value_info)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in self.opsets.items()])
        model.ir_version = self.ir_version
        onnx.checker.check_model(model)
        return model


def blend_models(
    members: Sequence[tuple[object, str]],
    weights: Sequence[float],
    *,
    output_name: str = "probabilities",
    extra_outputs: Sequence[tuple[str, str]] = (),
):
    """``members``: (ModelProto, name of the output to blend). Returns one ModelProto whose
    ``output_name`` is sum(w_i * member_i) in float32.

    ``extra_outputs``: (member index as str, output name) pairs copied through unchanged
    (e.g. a label output of member 0); rarely needed.
    """
    import onnx
    from onnx import TensorProto, helper

    if len(members) != len(weights) or not members:
        raise ValueError("one weight per member is needed")
    merged = _Merged(members, "ensemble")
    nodes, initializers = merged.nodes, merged.initializers
    scaled = []
    for k, ((_model, out), w) in enumerate(zip(members, weights, strict=True)):
        src = f"m{k}_{out}"
        cast = f"m{k}__blend_cast"
        nodes.append(helper.make_node("Cast", [src], [cast], to=TensorProto.FLOAT, name=f"m{k}__cast"))
        weight = f"m{k}__weight"
        initializers.append(helper.make_tensor(weight, TensorProto.FLOAT, [], [float(w)]))
        product = f"m{k}__weighted"
        nodes.append(helper.make_node("Mul", [cast, weight], [product], name=f"m{k}__mul"))
        scaled.append(product)
    nodes.append(helper.make_node("Sum", scaled, [output_name], name="blend_sum"))
    outputs = [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, _output_shape(members[0]))]
    for k, name in extra_outputs:
        src_model = members[int(k)][0]
        src = next(o for o in src_model.graph.output if o.name == name)
        renamed = onnx.ValueInfoProto()
        renamed.CopyFrom(src)
        renamed.name = f"m{k}_{name}"
        outputs.append(renamed)
    return merged.model("ensemble", outputs)


def stack_models(
    members: Sequence[tuple[object, str]],
    coef: np.ndarray,
    intercept: np.ndarray,
    *,
    classification: bool,
    eps: float,
    output_name: str = "probabilities",
):
    """A level-2 stack as one ModelProto: the members' graphs side by side (prefixed as in
    ``blend_models``), each output cast to float32 and reshaped to (n, width); for
    classification clipped to [0, 1] (Max, Min), ``eps`` added and logged; concatenated in the members'
    order; then ``MatMul(coef)``, ``Add(intercept)`` and, for classification, ``Softmax``
    over the classes: what ``stacking.Stacker.predict`` computes. A regression's output is
    (n, 1), like a member's."""
    from onnx import TensorProto, helper

    if not members:
        raise ValueError("a stack needs members")
    coef = np.asarray(coef, dtype=np.float32)
    width = coef.shape[0] // len(members)
    merged = _Merged(members, "stack")
    nodes, initializers, blocks = merged.nodes, merged.initializers, []
    initializers.append(helper.make_tensor("stack__shape", TensorProto.INT64, [2], [-1, width]))
    initializers.append(helper.make_tensor("stack__eps", TensorProto.FLOAT, [], [float(eps)]))
    initializers.append(helper.make_tensor("stack__one", TensorProto.FLOAT, [], [1.0]))
    initializers.append(helper.make_tensor("stack__zero", TensorProto.FLOAT, [], [0.0]))
    for k, (_model, out) in enumerate(members):
        cast, flat = f"m{k}__stack_cast", f"m{k}__stack_flat"
        nodes.append(helper.make_node("Cast", [f"m{k}_{out}"], [cast], to=TensorProto.FLOAT, name=f"m{k}__scast"))
        nodes.append(helper.make_node("Reshape", [cast, "stack__shape"], [flat], name=f"m{k}__sreshape"))
        if classification:
            low, high, log = f"m{k}__stack_low", f"m{k}__stack_high", f"m{k}__stack_log"
            shifted = f"m{k}__stack_shifted"
            nodes.append(helper.make_node("Max", [flat, "stack__zero"], [low], name=f"m{k}__smax"))
            nodes.append(helper.make_node("Min", [low, "stack__one"], [high], name=f"m{k}__smin"))
            nodes.append(helper.make_node("Add", [high, "stack__eps"], [shifted], name=f"m{k}__sadd"))
            nodes.append(helper.make_node("Log", [shifted], [log], name=f"m{k}__slog"))
            flat = log
        blocks.append(flat)
    nodes.append(helper.make_node("Concat", blocks, ["stack__features"], axis=1, name="stack_concat"))
    initializers.append(helper.make_tensor("stack__coef", TensorProto.FLOAT, list(coef.shape), coef.ravel().tolist()))
    bias = np.asarray(intercept, dtype=np.float32).reshape(-1)
    initializers.append(helper.make_tensor("stack__intercept", TensorProto.FLOAT, [len(bias)], bias.tolist()))
    nodes.append(helper.make_node("MatMul", ["stack__features", "stack__coef"], ["stack__mm"], name="stack_matmul"))
    if classification:
        nodes.append(helper.make_node("Add", ["stack__mm", "stack__intercept"], ["stack__logits"], name="stack_add"))
        nodes.append(helper.make_node("Softmax", ["stack__logits"], [output_name], axis=1, name="stack_softmax"))
        shape = [None, int(coef.shape[1])]
    else:
        nodes.append(helper.make_node("Add", ["stack__mm", "stack__intercept"], [output_name], name="stack_add"))
        shape = [None, 1]
    return merged.model("stack", [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, shape)])


def _output_shape(member) -> list | None:
    """The blended output's shape: the first member's blended output's, when it declares one."""
    model, name = member
    for out in model.graph.output:
        if out.name == name and out.type.tensor_type.HasField("shape"):
            return [d.dim_param or (d.dim_value if d.HasField("dim_value") else None) for d in out.type.tensor_type.shape.dim]
    return [None, None]


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0
