import { Schema, type Connection, type InferSchemaType, type Model, Types } from 'mongoose';

/**
 * Which user a phone number is bound to. `_id` is the number with its country code ("+86 13800138000"),
 * so a number binds to one user at most: a unique index on the user's own phone field would not
 * do, because the embedded database cannot make it sparse and most users have none.
 */
const phoneBindingSchema = new Schema(
  {
    _id: { type: String, required: true },
    userId: { type: Types.ObjectId, required: true, index: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'phone_bindings' },
);

export type PhoneBindingModel = Model<InferSchemaType<typeof phoneBindingSchema>>;

export function phoneBindingModel(conn: Connection): PhoneBindingModel {
  return (conn.models.PhoneBinding as PhoneBindingModel | undefined) ?? conn.model('PhoneBinding', phoneBindingSchema);
}
