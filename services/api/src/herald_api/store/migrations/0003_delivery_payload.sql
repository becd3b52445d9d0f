-- The delivery itself (event, notifier snapshot, recipients) as the latest result carried it
-- (`DeliveryResult.delivery`), kept so that POST /v1/apps/{app}/deliveries/{id}/redeliver can
-- send it again. Null for deliveries recorded before results carried it: those cannot be
-- redelivered.
ALTER TABLE deliveries ADD COLUMN delivery jsonb;
