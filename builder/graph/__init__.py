"""The model graph's checks and its Keras side: validate (shape inference), layers (node -> Keras layer), build
(spec -> Keras), importer (Keras -> spec), kerasfile (reading .keras files safely), pretrained bases, codegen
(spec -> Python)."""

__all__ = ["build", "codegen", "importer", "kerasfile", "layers", "pretrained", "validate"]  # its public modules (docs/interfaces.md)
