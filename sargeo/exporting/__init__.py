"""torch -> ONNX bundles (`sargeo export`): separate graphs, offline optimisation, int8, parity.

Which exporter (checked on torch 2.14, onnx 1.23, onnxruntime 1.32, opset 18, both CLIP towers of
``sar-rs-clip-tiny`` and ``sar-rs-clip-lite``, dynamic batch, batches 1 and 5 against torch):

- Both the legacy TorchScript exporter (``dynamo=False``) and the dynamo exporter (``dynamo=True``)
  give correct CLIP graphs: max absolute difference to torch 5e-8 to 3e-7 on unit embeddings.
- The dynamo exporter names graph values after the modules they come from. An output named
  ``embedding`` collided with the text tower's ``token_embedding`` Gather output and the exporter
  wrote an invalid model ("Duplicate definition of name (embedding)"). Outputs are therefore named
  ``image_embeds`` and ``text_embeds``; parity and ONNX Runtime's loader would catch a repeat.
- Both exporters restore the training mode they found on the module they export. A wrapper module
  built around an eval-mode model is itself in training mode, so after the export the model was in
  training mode: batch norm and dropout then made torch disagree with the graph by 0.1 (cosine)
  on the lite model. `sargeo.exporting.graphs.export_graph` puts the module in eval mode before and
  after exporting.
- The dynamo exporter is the default: it is the one torch maintains (the legacy exporter is
  deprecated), and the CoCa decoder step needs it (a dynamic prefix length; the legacy exporter bakes
  the example length in). It is slower to run (10-20 s against 2-8 s a tower) and writes external
  data unless told not to. ``--exporter legacy`` remains for graphs the dynamo exporter cannot
  trace; parity decides in both cases.

Graphs are optimised offline at ONNX Runtime's *extended* level (portable fusions); the *all* level
(NCHWc layouts for the processor at hand, about 2x faster for the lite image encoder) is applied when
the runtime opens a session. See `sargeo.exporting.quantize` for int8.
"""
