"""The model graph's checks and its Keras side: validate (shape inference), build (spec -> Keras), importer (Keras -> spec), pretrained bases, codegen (spec -> Python)."""
