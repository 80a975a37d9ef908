// Stand-in (syntax check only) for ESP-IDF 5 components/app_update/include/esp_ota_ops.h,
// components/bootloader_support/include/esp_app_format.h (esp_ota_img_states_t) and esp_partition.h.
#pragma once
#include "esp_event_stand_in.h"

typedef struct esp_partition_t esp_partition_t;
typedef enum {
  ESP_OTA_IMG_NEW = 0x0U,
  ESP_OTA_IMG_PENDING_VERIFY = 0x1U,
  ESP_OTA_IMG_VALID = 0x2U,
} esp_ota_img_states_t;

extern "C" {
const esp_partition_t* esp_ota_get_running_partition(void);
esp_err_t esp_ota_get_state_partition(const esp_partition_t* partition, esp_ota_img_states_t* ota_state);
esp_err_t esp_ota_mark_app_valid_cancel_rollback(void);
esp_err_t esp_ota_mark_app_invalid_rollback_and_reboot(void);
}
