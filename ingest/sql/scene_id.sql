SELECT id FROM scenes WHERE source = :source AND scene_key = :scene_key
