"""Architectures written from the official Keras code examples (keras.io/examples), at small sizes.

Each builder follows its example's code with Keras' built-in layers: its layer types, settings, block structure,
raw operations (`keras.ops.nn.relu(x)`, `keras.activations.swish(x)`, `x0 * y + x`) and input dtypes. Only the
sizes are smaller (inputs, filters, units), so the round-trip test stays quick. Where an example defines its own
`Layer` subclass (the Transformer's block), the builder writes the same layers out in the functional API, as the
example's block does inside `call`.
"""
from __future__ import annotations

import keras
from keras import layers, ops


def mnist_convnet():  # vision/mnist_convnet
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="mnist_convnet")


def _xception_entry_flow(x, sizes=(16, 32)):
    """BatchNorm + relu after the stem, then Xception's downsampling blocks with strided 1×1 shortcuts (shared by
    the two examples, which write the same code)."""
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous_block_activation = x
    for size in sizes:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])
        previous_block_activation = x
    return x


def image_classification_from_scratch():  # vision/image_classification_from_scratch (small Xception)
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(16, 3, strides=2, padding="same")(x)
    x = _xception_entry_flow(x)
    x = layers.SeparableConv2D(48, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(1, activation=None)(x)
    return keras.Model(inputs, outputs, name="xception_small")


def _mobilevit_conv_block(x, filters=16, kernel_size=3, strides=2):
    return layers.Conv2D(filters, kernel_size, strides=strides, activation=keras.activations.swish,
                         padding="same")(x)


def _mobilevit_inverted_residual(x, expanded_channels, output_channels, strides=1):
    m = layers.Conv2D(expanded_channels, 1, padding="same", use_bias=False)(x)
    m = layers.BatchNormalization()(m)
    m = keras.activations.swish(m)
    m = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False)(m)
    m = layers.BatchNormalization()(m)
    m = keras.activations.swish(m)
    m = layers.Conv2D(output_channels, 1, padding="same", use_bias=False)(m)
    m = layers.BatchNormalization()(m)
    if keras.ops.equal(x.shape[-1], output_channels) and strides == 1:
        return layers.Add()([m, x])
    return m


def _mobilevit_transformer(x, transformer_layers, projection_dim, num_heads=2):
    for _ in range(transformer_layers):
        x1 = layers.LayerNormalization(epsilon=1e-6)(x)
        attention_output = layers.MultiHeadAttention(num_heads=num_heads, key_dim=projection_dim,
                                                     dropout=0.1)(x1, x1)  # a 4-D query: Keras attends over (1, 2)
        x2 = layers.Add()([attention_output, x])
        x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
        x3 = layers.Dense(projection_dim * 2, activation=keras.activations.swish)(x3)
        x3 = layers.Dropout(0.1)(x3)
        x3 = layers.Dense(projection_dim, activation=keras.activations.swish)(x3)
        x3 = layers.Dropout(0.1)(x3)
        x = layers.Add()([x3, x2])
    return x


def mobilevit():  # vision/mobilevit
    patch_size, image_size = 4, 32
    inputs = keras.Input((image_size, image_size, 3))
    x = layers.Rescaling(scale=1.0 / 255)(inputs)
    x = _mobilevit_conv_block(x, filters=16)
    x = _mobilevit_inverted_residual(x, expanded_channels=32, output_channels=16)
    x = _mobilevit_inverted_residual(x, expanded_channels=32, output_channels=24, strides=2)
    # the MobileViT block
    projection_dim = 32
    local_features = _mobilevit_conv_block(x, filters=projection_dim, strides=1)
    local_features = _mobilevit_conv_block(local_features, filters=projection_dim, kernel_size=1, strides=1)
    num_patches = int((local_features.shape[1] * local_features.shape[2]) / patch_size)
    non_overlapping_patches = layers.Reshape((patch_size, num_patches, projection_dim))(local_features)
    global_features = _mobilevit_transformer(non_overlapping_patches, 2, projection_dim)
    folded_feature_map = layers.Reshape((*local_features.shape[1:-1], projection_dim))(global_features)
    folded_feature_map = _mobilevit_conv_block(folded_feature_map, filters=x.shape[-1], kernel_size=1, strides=1)
    local_global_features = layers.Concatenate(axis=-1)([x, folded_feature_map])
    x = _mobilevit_conv_block(local_global_features, filters=projection_dim, strides=1)
    x = layers.Conv2D(64, 1, padding="same", activation=keras.activations.swish)(x)
    x = layers.GlobalAvgPool2D()(x)
    outputs = layers.Dense(5, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mobilevit")


def _deeplab_conv_block(block_input, num_filters=16, kernel_size=3, dilation_rate=1, use_bias=False):
    x = layers.Conv2D(num_filters, kernel_size=kernel_size, dilation_rate=dilation_rate, padding="same",
                      use_bias=use_bias, kernel_initializer=keras.initializers.HeNormal())(block_input)
    x = layers.BatchNormalization()(x)
    return ops.nn.relu(x)


def deeplabv3_plus():  # vision/deeplabv3_plus (a small strided backbone instead of ResNet50)
    model_input = keras.Input(shape=(32, 32, 3))
    low = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(model_input)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(low)
    # DilatedSpatialPyramidPooling
    dims = x.shape
    pooled = layers.AveragePooling2D(pool_size=(dims[-3], dims[-2]))(x)
    pooled = _deeplab_conv_block(pooled, kernel_size=1, use_bias=True)
    out_pool = layers.UpSampling2D(size=(dims[-3] // pooled.shape[1], dims[-2] // pooled.shape[2]),
                                   interpolation="bilinear")(pooled)
    out_1 = _deeplab_conv_block(x, kernel_size=1, dilation_rate=1)
    out_6 = _deeplab_conv_block(x, kernel_size=3, dilation_rate=6)
    out_12 = _deeplab_conv_block(x, kernel_size=3, dilation_rate=12)
    out_18 = _deeplab_conv_block(x, kernel_size=3, dilation_rate=18)
    x = layers.Concatenate(axis=-1)([out_pool, out_1, out_6, out_12, out_18])
    x = _deeplab_conv_block(x, kernel_size=1)
    input_a = layers.UpSampling2D(size=(2, 2), interpolation="bilinear")(x)
    input_b = _deeplab_conv_block(low, num_filters=8, kernel_size=1)
    x = layers.Concatenate(axis=-1)([input_a, input_b])
    x = _deeplab_conv_block(x)
    x = _deeplab_conv_block(x)
    x = layers.UpSampling2D(size=(2, 2), interpolation="bilinear")(x)
    model_output = layers.Conv2D(3, kernel_size=(1, 1), padding="same")(x)
    return keras.Model(inputs=model_input, outputs=model_output, name="deeplabv3_plus")


def oxford_pets_unet():  # vision/oxford_pets_image_segmentation
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    x = _xception_entry_flow(x)
    previous_block_activation = x
    for filters in [32, 16, 8]:
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.UpSampling2D(2)(x)
        residual = layers.UpSampling2D(2)(previous_block_activation)
        residual = layers.Conv2D(filters, 1, padding="same")(residual)
        x = layers.add([x, residual])
        previous_block_activation = x
    outputs = layers.Conv2D(3, 3, activation="softmax", padding="same")(x)
    return keras.Model(inputs, outputs, name="unet")


def text_classification_from_scratch():  # nlp/text_classification_from_scratch
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(2000, 16)(inputs)
    x = layers.Dropout(0.5)(x)
    x = layers.Conv1D(16, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.Conv1D(16, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(16, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    return keras.Model(inputs, predictions, name="text_cnn")


def bidirectional_lstm_imdb():  # nlp/bidirectional_lstm_imdb
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(2000, 16)(inputs)
    x = layers.Bidirectional(layers.LSTM(8, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(8))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="bilstm")


def text_classification_with_transformer():  # nlp/text_classification_with_transformer, its block written out
    embed_dim, num_heads, ff_dim = 16, 2, 32
    inputs = layers.Input(shape=(20,))
    x = layers.Embedding(input_dim=2000, output_dim=embed_dim)(inputs)
    attn_output = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)(x, x)
    attn_output = layers.Dropout(0.1)(attn_output)
    out1 = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attn_output]))
    ffn_output = layers.Dense(ff_dim, activation="relu")(out1)
    ffn_output = layers.Dense(embed_dim)(ffn_output)
    ffn_output = layers.Dropout(0.1)(ffn_output)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([out1, ffn_output]))
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="text_transformer")


def timeseries_classification_from_scratch():  # timeseries/timeseries_classification_from_scratch
    input_layer = keras.layers.Input((50, 1))
    x = input_layer
    for _ in range(3):
        x = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    gap = keras.layers.GlobalAveragePooling1D()(x)
    output_layer = keras.layers.Dense(2, activation="softmax")(gap)
    return keras.Model(inputs=input_layer, outputs=output_layer, name="fcn")


def timeseries_anomaly_detection():  # timeseries/timeseries_anomaly_detection (a Conv1D autoencoder)
    return keras.Sequential([
        layers.Input(shape=(48, 1)),
        layers.Conv1D(filters=16, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Dropout(rate=0.2),
        layers.Conv1D(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Dropout(rate=0.2),
        layers.Conv1DTranspose(filters=16, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ], name="conv_autoencoder")


def timeseries_weather_forecasting():  # timeseries/timeseries_weather_forecasting
    inputs = keras.layers.Input(shape=(12, 7))
    lstm_out = keras.layers.LSTM(32)(inputs)
    outputs = keras.layers.Dense(1)(lstm_out)
    return keras.Model(inputs=inputs, outputs=outputs, name="weather_lstm")


def dcgan_discriminator():  # generative/dcgan_overriding_train_step
    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(16, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(32, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(32, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(1, activation="sigmoid"),
    ], name="discriminator")


def dcgan_generator():  # generative/dcgan_overriding_train_step
    latent_dim = 16
    return keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        layers.Dense(4 * 4 * 32),
        layers.Reshape((4, 4, 32)),
        layers.Conv2DTranspose(32, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(16, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(16, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(3, kernel_size=5, padding="same", activation="sigmoid"),
    ], name="generator")


def vae_decoder():  # generative/vae (its decoder; the encoder's Sampling is a custom layer)
    latent_inputs = keras.Input(shape=(2,))
    x = layers.Dense(7 * 7 * 16, activation="relu")(latent_inputs)
    x = layers.Reshape((7, 7, 16))(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(8, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    return keras.Model(latent_inputs, decoder_outputs, name="decoder")


def structured_data_feature_space():  # structured_data/structured_data_classification_with_feature_space
    encoded_features = keras.Input(shape=(24,))
    x = keras.layers.Dense(32, activation="relu")(encoded_features)
    x = keras.layers.Dropout(0.5)(x)
    predictions = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs=encoded_features, outputs=predictions, name="feature_space_head")


def wide_deep_cross():  # structured_data/wide_deep_cross_networks (its deep & cross model)
    numeric = keras.Input(shape=(3,), name="numeric")
    category = keras.Input(shape=(1,), dtype="int64", name="category")
    embedded = layers.Flatten()(layers.Embedding(input_dim=10, output_dim=4)(category))
    x0 = layers.concatenate([numeric, embedded])
    cross = x0
    for _ in range(2):
        units = cross.shape[-1]
        x = layers.Dense(units)(cross)
        cross = x0 * x + cross
    cross = layers.BatchNormalization()(cross)
    deep = x0
    for units in [16, 16]:
        deep = layers.Dense(units)(deep)
        deep = layers.BatchNormalization()(deep)
        deep = layers.ReLU()(deep)
        deep = layers.Dropout(0.1)(deep)
    merged = layers.concatenate([cross, deep])
    outputs = layers.Dense(units=4, activation="softmax")(merged)
    return keras.Model(inputs=[numeric, category], outputs=outputs, name="deep_and_cross")


EXAMPLES = {
    "vision/mnist_convnet": mnist_convnet,
    "vision/image_classification_from_scratch": image_classification_from_scratch,
    "vision/mobilevit": mobilevit,
    "vision/deeplabv3_plus": deeplabv3_plus,
    "vision/oxford_pets_image_segmentation": oxford_pets_unet,
    "nlp/text_classification_from_scratch": text_classification_from_scratch,
    "nlp/bidirectional_lstm_imdb": bidirectional_lstm_imdb,
    "nlp/text_classification_with_transformer": text_classification_with_transformer,
    "timeseries/timeseries_classification_from_scratch": timeseries_classification_from_scratch,
    "timeseries/timeseries_anomaly_detection": timeseries_anomaly_detection,
    "timeseries/timeseries_weather_forecasting": timeseries_weather_forecasting,
    "generative/dcgan_discriminator": dcgan_discriminator,
    "generative/dcgan_generator": dcgan_generator,
    "generative/vae_decoder": vae_decoder,
    "structured_data/feature_space": structured_data_feature_space,
    "structured_data/wide_deep_cross_networks": wide_deep_cross,
}
